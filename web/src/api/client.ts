import { withApiBase } from '@/utils/keys'

import type { ApiErrorBody } from './types'

/**
 * What went wrong with a request, in terms the UI can explain:
 * - `http`: the server answered 4xx/5xx (`status`, `code`, `message` from its error body);
 * - `network`: no answer at all (offline, DNS, connection refused, CORS);
 * - `timeout`: no answer within the request's time limit;
 * - `aborted`: the caller cancelled (never shown to users);
 * - `parse`: an answer that is not the JSON the contract promises.
 */
export type ApiErrorKind = 'http' | 'network' | 'timeout' | 'aborted' | 'parse'

export class ApiError extends Error {
  override readonly name = 'ApiError'

  constructor(
    readonly kind: ApiErrorKind,
    message: string,
    readonly status: number | null = null,
    readonly code: string | null = null,
    readonly details: unknown = null,
    /** Seconds to wait before trying again, from `Retry-After` (429/503). */
    readonly retryAfter: number | null = null,
  ) {
    super(message)
  }

  /** Worth trying again later: no answer, rate limited, or a server-side failure. */
  get transient(): boolean {
    if (this.kind === 'network' || this.kind === 'timeout') return true
    if (this.kind !== 'http' || this.status === null) return false
    return this.status === 408 || this.status === 429 || this.status >= 500
  }
}

export interface RequestOptions {
  method?: 'GET' | 'POST' | 'PUT' | 'DELETE'
  query?: Record<string, string | number | boolean | null | undefined>
  body?: unknown
  /** Admin bearer token. */
  token?: string | null
  signal?: AbortSignal
  /** Give up after this many milliseconds (default 15 s). */
  timeoutMs?: number
}

/** Parses `Retry-After` (delta seconds or an HTTP date) into seconds from now. */
export function parseRetryAfter(value: string | null, now = Date.now()): number | null {
  if (!value) return null
  const seconds = Number(value)
  if (Number.isFinite(seconds)) return Math.max(0, Math.ceil(seconds))
  const date = Date.parse(value)
  if (Number.isNaN(date)) return null
  return Math.max(0, Math.ceil((date - now) / 1000))
}

function buildUrl(path: string, query: RequestOptions['query']): string {
  const params = new URLSearchParams()
  for (const [name, value] of Object.entries(query ?? {})) {
    if (value !== undefined && value !== null && value !== '') params.set(name, String(value))
  }
  const search = params.toString()
  return withApiBase(search ? `${path}?${search}` : path)
}

async function errorFromResponse(response: Response): Promise<ApiError> {
  const retryAfter = parseRetryAfter(response.headers.get('Retry-After'))
  let code: string | null = null
  let message = response.statusText || `HTTP ${response.status}`
  let details: unknown = null
  try {
    const body = (await response.json()) as Partial<ApiErrorBody>
    if (body && typeof body.error === 'object' && body.error) {
      code = typeof body.error.code === 'string' ? body.error.code : null
      if (typeof body.error.message === 'string' && body.error.message) message = body.error.message
      details = body.error.details ?? null
    }
  } catch {
    // Not JSON (a proxy's HTML error page, an empty body): keep the status text.
  }
  return new ApiError('http', message, response.status, code, details, retryAfter)
}

/**
 * Sends one JSON request to the backend and returns the parsed body; every failure becomes an
 * {@link ApiError}. Never retries by itself: callers decide (the resolver, polling, the user).
 */
export async function request<T>(path: string, options: RequestOptions = {}): Promise<T> {
  const { method = 'GET', query, body, token, signal, timeoutMs = 15_000 } = options
  const controller = new AbortController()
  let timedOut = false
  const timer = setTimeout(() => {
    timedOut = true
    controller.abort()
  }, timeoutMs)
  const onAbort = () => controller.abort()
  signal?.addEventListener('abort', onAbort, { once: true })
  if (signal?.aborted) controller.abort()

  const headers: Record<string, string> = { Accept: 'application/json' }
  if (body !== undefined) headers['Content-Type'] = 'application/json'
  if (token) headers.Authorization = `Bearer ${token}`

  try {
    let response: Response
    try {
      response = await fetch(buildUrl(path, query), {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: controller.signal,
        credentials: 'same-origin',
        cache: 'no-store',
      })
    } catch (cause) {
      if (timedOut) throw new ApiError('timeout', `No answer within ${timeoutMs} ms`)
      if (signal?.aborted) throw new ApiError('aborted', 'Request cancelled')
      throw new ApiError('network', cause instanceof Error ? cause.message : String(cause))
    }
    if (!response.ok) throw await errorFromResponse(response)
    if (response.status === 204) return undefined as T
    try {
      return (await response.json()) as T
    } catch {
      throw new ApiError('parse', 'The server sent a response that is not JSON', response.status)
    }
  } finally {
    clearTimeout(timer)
    signal?.removeEventListener('abort', onAbort)
  }
}

export function isApiError(error: unknown): error is ApiError {
  return error instanceof ApiError
}
