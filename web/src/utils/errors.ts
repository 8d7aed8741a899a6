import { ApiError } from '@/api/client'
import type { MessageKey, MessageParams } from '@/i18n'

import { ImageLoadError } from './imageDelivery'
import { ResolveError, type ResolveErrorCode } from './resolver'

type Translate = (key: MessageKey, params?: MessageParams) => string

/** Per-key resolve errors with a sentence of their own; the others quote the server. */
const RESOLVE_CODES: Partial<Record<ResolveErrorCode, MessageKey>> = {
  not_found: 'errors.notFound',
  access_denied: 'errors.accessDenied',
  invalid_key: 'errors.invalidKey',
  empty_key: 'errors.invalidKey',
  invalid_encoding: 'errors.invalidKey',
  key_too_long: 'errors.invalidKey',
  control_character: 'errors.invalidKey',
  absolute_key: 'errors.invalidKey',
  path_traversal: 'errors.invalidKey',
  prefix_not_allowed: 'errors.invalidKey',
}

/** One sentence a person can act on, for any error the app's requests and images produce. */
export function describeError(error: unknown, t: Translate): string {
  if (error === null || error === undefined) return ''
  if (error instanceof ImageLoadError) {
    return error.rateLimit?.seen ? t('errors.rateLimited') : t('errors.imageLoad')
  }
  if (error instanceof ResolveError) {
    const key = RESOLVE_CODES[error.code]
    return key ? t(key) : t('errors.resolve', { message: error.message })
  }
  if (error instanceof ApiError) {
    switch (error.kind) {
      case 'network':
        return t('errors.network')
      case 'timeout':
        return t('errors.timeout')
      case 'parse':
        return t('errors.parse')
      case 'aborted':
        return t('errors.aborted')
    }
    const status = error.status ?? 0
    if (status === 401) return t('errors.unauthorized')
    if (status === 403) return t('errors.forbidden')
    if (status === 429) {
      return error.retryAfter === null
        ? t('errors.rateLimited')
        : t('errors.rateLimitedFor', { count: error.retryAfter, seconds: error.retryAfter })
    }
    if (status === 404) return t('errors.notFound')
    if (status === 413) return t('errors.tooLarge', { message: error.message })
    if (status >= 500) return t('errors.server', { status, message: error.message })
    return t('errors.badRequest', { message: error.message })
  }
  if (error instanceof Error) return t('errors.unexpected', { message: error.message })
  return t('errors.unexpected', { message: String(error) })
}

/** 401 or 403: the admin token is missing or wrong. */
export function isAuthError(error: unknown): boolean {
  return error instanceof ApiError && (error.status === 401 || error.status === 403)
}
