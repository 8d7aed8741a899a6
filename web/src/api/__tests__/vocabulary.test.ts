import { describe, expect, it } from 'vitest'

import { ApiError } from '@/api/client'
import { ResolveError, isPermanentResolveFailure } from '@/utils/resolver'

import openapi from '../openapi.json'
import { ERROR_RETRY, isFinalStatus, retryOf, TASK_STATUSES } from '../vocabulary'

/** The enums as the backend publishes them. */
const schemas = openapi.components.schemas
const errorCodes = schemas.ErrorBody.properties.code.enum
const taskStatuses = schemas.Task.properties.status.enum

describe('vocabulary', () => {
  it('classifies exactly the error codes of the schema', () => {
    expect(Object.keys(ERROR_RETRY).sort()).toEqual([...errorCodes].sort())
  })

  it('lists exactly the task statuses of the schema, in its order', () => {
    expect(TASK_STATUSES).toEqual(taskStatuses)
  })

  it('counts succeeded, failed and revoked as final, and a lost task as still moving', () => {
    expect(TASK_STATUSES.filter(isFinalStatus)).toEqual(['succeeded', 'failed', 'revoked'])
    expect(isFinalStatus('lost')).toBe(false)
  })

  it('treats server trouble as transient and answers about the key or object as permanent', () => {
    for (const code of ['storage_unavailable', 'storage_error', 'queue_unavailable', 'redis_unavailable', 'internal_error']) {
      expect(retryOf(code)).toBe('transient')
    }
    // Asked to come back later: a wait, neither a failure of the key nor a reason for the proxy.
    expect(retryOf('rate_limited')).toBe('wait')
    expect(Object.entries(ERROR_RETRY).filter(([, retry]) => retry === 'wait')).toEqual([['rate_limited', 'wait']])
    for (const code of ['not_found', 'access_denied', 'empty_key', 'absolute_key', 'control_character', 'invalid_encoding', 'path_traversal']) {
      expect(retryOf(code)).toBe('permanent')
    }
    expect(retryOf('a_code_from_a_newer_backend')).toBeUndefined()
    expect(retryOf('toString')).toBeUndefined()
    expect(retryOf(null)).toBeUndefined()
  })

  it('decides whether a resolve failure is worth asking again', () => {
    expect(isPermanentResolveFailure(new ResolveError('k', 'access_denied', 'denied'))).toBe(true)
    expect(isPermanentResolveFailure(new ResolveError('k', 'storage_error', 'flaky'))).toBe(false)
    // Left out of the answer: ask again.
    expect(isPermanentResolveFailure(new ResolveError('k', 'missing', 'no answer'))).toBe(false)
    // A whole request: by its code when known, else by its status.
    expect(isPermanentResolveFailure(new ApiError('http', 'down', 503, 'redis_unavailable'))).toBe(false)
    expect(isPermanentResolveFailure(new ApiError('http', 'bad', 400, 'validation_error'))).toBe(true)
    expect(isPermanentResolveFailure(new ApiError('http', 'odd', 418, 'a_newer_code'))).toBe(true)
    expect(isPermanentResolveFailure(new ApiError('http', 'odd', 502, null))).toBe(false)
    expect(isPermanentResolveFailure(new ApiError('network', 'offline'))).toBe(false)
    expect(isPermanentResolveFailure(new ApiError('http', 'slow', 429, 'rate_limited', null, 3))).toBe(false)
    expect(isPermanentResolveFailure(new ResolveError('k', 'rate_limited', 'slow'))).toBe(false)
  })
})
