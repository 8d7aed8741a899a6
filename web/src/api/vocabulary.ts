/**
 * What the web app does with each word of the backend's vocabulary. The words come from the
 * OpenAPI schema (`types.ts`); both tables below are `Record`s over them, so a code or status
 * the backend adds fails the typecheck until it is classified here.
 */
import type { ErrorCode, TaskStatus } from './types'

/**
 * Whether asking again can give another answer: `transient` for a server that is down or
 * failing (5xx), `wait` for one that asked to be asked later (429 with `Retry-After`: wait that
 * long, then ask the same again; neither a failure of the key nor a reason to use the proxy),
 * `permanent` for an answer about the request or the object itself.
 */
export type Retry = 'permanent' | 'transient' | 'wait'

export const ERROR_RETRY: Record<ErrorCode, Retry> = {
  // the key can never name an object
  invalid_key: 'permanent',
  empty_key: 'permanent',
  invalid_encoding: 'permanent',
  key_too_long: 'permanent',
  control_character: 'permanent',
  absolute_key: 'permanent',
  path_traversal: 'permanent',
  prefix_not_allowed: 'permanent',
  invalid_keys: 'permanent',
  // storage's answer about the object
  not_found: 'permanent',
  access_denied: 'permanent',
  range_not_satisfiable: 'permanent',
  signature_invalid: 'permanent',
  signature_expired: 'permanent',
  // storage failing
  storage_unavailable: 'transient',
  storage_error: 'transient',
  // the request itself
  validation_error: 'permanent',
  bad_request: 'permanent',
  unauthorized: 'permanent',
  forbidden: 'permanent',
  method_not_allowed: 'permanent',
  not_acceptable: 'permanent',
  gone: 'permanent',
  request_entity_too_large: 'permanent',
  request_uri_too_long: 'permanent',
  unsupported_media_type: 'permanent',
  request_header_fields_too_large: 'permanent',
  rate_limited: 'wait',
  // any other status werkzeug raised (408, 502, 504 among them): cannot tell, so it may be tried again
  http_error: 'transient',
  // admin
  auth_required: 'permanent',
  invalid_token: 'permanent',
  task_not_found: 'permanent',
  task_finished: 'permanent',
  // infrastructure
  queue_unavailable: 'transient',
  redis_unavailable: 'transient',
  internal_error: 'transient',
}

/**
 * How asking again for `code` may go; undefined for a code this build does not know (a newer
 * backend), which callers treat by its HTTP status or as transient.
 */
export function retryOf(code: string | null | undefined): Retry | undefined {
  return code && Object.hasOwn(ERROR_RETRY, code) ? ERROR_RETRY[code as ErrorCode] : undefined
}

/**
 * Every task status, in the backend's order, and whether it is final (the task never changes
 * again). `lost` is not final: the backend's cleanup puts a lost task back on the queue.
 */
const FINAL: Record<TaskStatus, boolean> = {
  queued: false,
  running: false,
  retrying: false,
  succeeded: true,
  failed: true,
  lost: false,
  revoked: true,
}

export const TASK_STATUSES = Object.keys(FINAL) as TaskStatus[]

export function isFinalStatus(status: TaskStatus): boolean {
  return FINAL[status]
}
