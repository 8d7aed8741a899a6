import { describe, expect, it } from 'vitest'

import { ApiError } from '@/api/client'

import { ImageLoadError } from '../imageDelivery'
import { backoffDelay, nextStep, retryPolicy, type Failure } from '../imageRetry'
import { ResolveError } from '../resolver'

const policy = retryPolicy({ random: () => 0.5 })

function failure(overrides: Partial<Failure> = {}): Failure {
  return {
    reason: new ImageLoadError('/objects/a.png'),
    attempt: 0,
    mode: 'auto',
    source: 'signed',
    usedProxyFallback: false,
    ...overrides,
  }
}

describe('imageRetry', () => {
  it('fills in the defaults for what the options leave out', () => {
    const random = () => 0
    expect(retryPolicy({ retries: 1, jitter: undefined, random })).toEqual({
      retries: 1,
      retryDelay: 500,
      maxRetryDelay: 10_000,
      jitter: 0.2,
      random,
    })
  })

  it('doubles the delay per try up to the bound, spread by the jitter', () => {
    expect([1, 2, 3].map((n) => backoffDelay(n, policy))).toEqual([500, 1000, 2000])
    expect(backoffDelay(10, policy)).toBe(10_000)
    expect(backoffDelay(1, { ...policy, random: () => 0 })).toBe(400)
    expect(backoffDelay(1, { ...policy, random: () => 1 })).toBe(600)
  })

  it('retries while tries are left, then falls back to the proxy, then fails', () => {
    expect(nextStep(failure(), policy)).toEqual({ action: 'retry', delay: 500 })
    expect(nextStep(failure({ attempt: 2 }), policy)).toEqual({ action: 'retry', delay: 2000 })
    expect(nextStep(failure({ attempt: 3 }), policy)).toEqual({ action: 'proxy' })
    const afterProxy = failure({ attempt: 3, source: 'proxy', usedProxyFallback: true })
    expect(nextStep(afterProxy, policy)).toEqual({ action: 'fail' })
  })

  it('fails when the mode has no proxy fallback', () => {
    expect(nextStep(failure({ attempt: 3, mode: 'direct' }), policy)).toEqual({ action: 'fail' })
    const proxy = failure({ attempt: 3, mode: 'proxy', source: 'proxy' })
    expect(nextStep(proxy, policy)).toEqual({ action: 'fail' })
  })

  it('fails at once on a permanent resolve error, retries a transient one', () => {
    const gone = failure({ reason: new ResolveError('a.png', 'not_found', 'no such key') })
    expect(nextStep(gone, policy)).toEqual({ action: 'fail' })
    const down = failure({ reason: new ApiError('http', 'down', 503) })
    expect(nextStep(down, policy)).toEqual({ action: 'retry', delay: 500 })
  })
})
