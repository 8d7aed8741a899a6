/** Why the resolver has no URL for a key, and whether asking again could change that. */
import { ApiError } from '@/api/client'
import type { ErrorCode } from '@/api/types'
import { retryOf } from '@/api/vocabulary'

/**
 * Why one key has no URL: the backend's code (e.g. `not_found`), or `missing` when the answer
 * left the key out.
 */
export type ResolveErrorCode = ErrorCode | 'missing'

/** A key the backend refused or could not find. */
export class ResolveError extends Error {
  override readonly name = 'ResolveError'

  constructor(
    readonly key: string,
    readonly code: ResolveErrorCode,
    message: string,
  ) {
    super(message)
  }

  /** Asking again cannot change the answer (`vocabulary.ts`); unknown codes might. */
  get permanent(): boolean {
    return retryOf(this.code) === 'permanent'
  }
}

/**
 * True when asking again cannot help: a permanent code (bad key, missing object, storage refusing
 * access), or a request the server refused with a 4xx other than 408/429.
 */
export function isPermanentResolveFailure(error: unknown): boolean {
  if (error instanceof ResolveError) return error.permanent
  if (error instanceof ApiError && error.kind === 'http') {
    const retry = retryOf(error.code)
    return retry ? retry === 'permanent' : !error.transient
  }
  return false
}
