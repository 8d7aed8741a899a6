import { describe, expect, it } from 'vitest'

import { ApiError } from '@/api/client'

import { ImageLoadError } from '../imageDelivery'
import { backoffDelay, nextStep, rateLimitOf, retryPolicy, waitSpread, type Failure } from '../imageRetry'
import { ResolveError } from '../resolver'

const policy = retryPolicy({ random: () => 0.5 })

function failure(overrides: Partial<Failure> = {}): Failure {
  return {
    reason: new ImageLoadError('/objects/a.png'),
    attempt: 0,
    waits: 0,
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
      rateLimitWaits: 10,
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

  it('waits out a 429 for its Retry-After, clamped, without a try and never via the proxy', () => {
    const limited = (retryAfter: number | null) =>
      failure({ mode: 'redirect', source: 'redirect', reason: new ImageLoadError('/i/a.png', { retryAfter, seen: true }) })
    expect(nextStep(limited(3), policy)).toEqual({ action: 'wait', delay: 3000 })
    // Retry-After: one hour is held to a minute; none at all is a short default wait.
    expect(nextStep(limited(3600), policy)).toEqual({ action: 'wait', delay: 60_000 })
    expect(nextStep(limited(null), policy)).toEqual({ action: 'wait', delay: 2000 })
    // Tries used up or not: a 429 is still a wait, not the proxy.
    expect(nextStep({ ...limited(1), attempt: 3 }, policy)).toEqual({ action: 'wait', delay: 1000 })
    // Waits used up: the error state, still not the proxy.
    expect(nextStep({ ...limited(1), waits: 10 }, policy)).toEqual({ action: 'fail' })

    const refused = failure({ source: undefined, reason: new ApiError('http', 'slow down', 429, 'rate_limited', null, 5) })
    expect(nextStep(refused, policy)).toEqual({ action: 'wait', delay: 5000 })
  })

  it('joins the running wait for a failure taken for a rate limit, then goes on as any failure', () => {
    const presumed = failure({
      mode: 'redirect',
      source: 'redirect',
      reason: new ImageLoadError('/i/a.png', { retryAfter: null, seen: false }),
    })
    expect(nextStep(presumed, policy)).toEqual({ action: 'wait', delay: 0 })
    // Taken for the limit right after a wait: wait as long as that one again.
    const afterWait = failure({ reason: new ImageLoadError('/i/a.png', { retryAfter: 1, seen: false }) })
    expect(nextStep(afterWait, policy)).toEqual({ action: 'wait', delay: 1000 })
    expect(nextStep({ ...presumed, waits: 10 }, policy)).toEqual({ action: 'retry', delay: 500 })
    expect(nextStep({ ...presumed, waits: 10, attempt: 3 }, policy)).toEqual({ action: 'proxy' })
  })

  it('tells rate limits from other failures', () => {
    expect(rateLimitOf(new ImageLoadError('/i/a.png'))).toBeNull()
    expect(rateLimitOf(new ApiError('http', 'down', 503, 'redis_unavailable', null, 5))).toBeNull()
    expect(rateLimitOf(new ApiError('http', 'slow', 429, null, null, 4))).toEqual({ retryAfter: 4, seen: true })
    expect(rateLimitOf(new ResolveError('k', 'rate_limited', 'slow'))).toEqual({ retryAfter: null, seen: true })
    expect(rateLimitOf(new ApiError('network', 'offline'))).toBeNull()
  })

  it('spreads the images after a shared wait over up to as long again, at most the backoff bound', () => {
    expect(waitSpread(1000, { ...policy, random: () => 0 })).toBe(0)
    expect(waitSpread(1000, { ...policy, random: () => 1 })).toBe(1000)
    expect(waitSpread(60_000, { ...policy, random: () => 1 })).toBe(10_000)
  })
})
