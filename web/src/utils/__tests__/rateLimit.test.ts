import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'

import { ApiError } from '@/api/client'
import type { BatchResolveResponse } from '@/api/types'

import { isRateLimited, RateLimitGate, retryAfterDelay } from '../rateLimit'
import { Resolver, type FetchBatch } from '../resolver'

const T0 = Date.UTC(2025, 0, 1, 12)

function signed(key: string) {
  const now = Math.floor(Date.now() / 1000)
  return {
    key,
    url: `/objects/${key}?sig=s`,
    expires_at: now + 7200,
    refresh_at: now + 3600,
    etag: '"e"',
    content_type: 'image/png',
    size: 10,
  }
}

const tooMany = (retryAfter: number | null) =>
  new ApiError('http', 'Too many requests', 429, 'rate_limited', { budget: 'requests' }, retryAfter)

/**
 * A backend that refuses every request with 429 (`retryAfter` s) until `until`, then answers
 * every key; each call is logged with the time it was sent (ms after T0).
 */
function limitedBackend(until: number, retryAfter: number | null = 3) {
  const calls: { keys: string[]; at: number }[] = []
  const fetchBatch = vi.fn<FetchBatch>(async (keys) => {
    calls.push({ keys: [...keys], at: Date.now() - T0 })
    if (Date.now() - T0 < until) throw tooMany(retryAfter)
    const response: BatchResolveResponse = { items: keys.map(signed), errors: [] }
    return response
  })
  return { calls, fetchBatch }
}

describe('rate limits', () => {
  beforeEach(() => {
    vi.useFakeTimers({ now: T0 })
  })
  afterEach(() => {
    vi.useRealTimers()
  })

  it('turns Retry-After into a wait, clamped to a minute, 2 s when absent', () => {
    expect(retryAfterDelay(3)).toBe(3000)
    expect(retryAfterDelay(0.25)).toBe(250)
    expect(retryAfterDelay(3600)).toBe(60_000)
    expect(retryAfterDelay(null)).toBe(2000)
    expect(retryAfterDelay(undefined)).toBe(2000)
    expect(retryAfterDelay(Number.NaN)).toBe(2000)
    expect(retryAfterDelay(-5)).toBe(0)
  })

  it('knows a 429 from other failures', () => {
    expect(isRateLimited(tooMany(1))).toBe(true)
    expect(isRateLimited(new ApiError('http', 'slow', 429))).toBe(true)
    expect(isRateLimited(new ApiError('http', 'down', 503, 'redis_unavailable'))).toBe(false)
    expect(isRateLimited(new ApiError('network', 'offline'))).toBe(false)
  })

  it('a gate only ever waits longer, and lets a waiter go once it is open', async () => {
    const gate = new RateLimitGate()
    expect(gate.remaining()).toBe(0)
    gate.hold(3000)
    gate.hold(1000) // shorter: no effect
    expect(gate.remaining()).toBe(3000)
    let open = false
    void gate.wait().then(() => (open = true))
    await vi.advanceTimersByTimeAsync(2000)
    gate.hold(2000) // held longer while waiting: now until 4000
    await vi.advanceTimersByTimeAsync(1999)
    expect(open).toBe(false)
    await vi.advanceTimersByTimeAsync(1)
    expect(open).toBe(true)
  })

  it('the resolver waits Retry-After, then sends the same keys; two batches share one wait', async () => {
    const { calls, fetchBatch } = limitedBackend(3000, 3)
    const resolver = new Resolver({ fetchBatch, maxBatch: 2 })
    const keys = ['a', 'b', 'c']
    const results = keys.map((key) => resolver.resolve(key))
    const settled = Promise.allSettled(results)

    await vi.advanceTimersByTimeAsync(0)
    // Both batches went out and were refused.
    expect(calls).toEqual([
      { keys: ['a', 'b'], at: 0 },
      { keys: ['c'], at: 0 },
    ])

    // A key asked during the wait waits for the same time: no request before it is over.
    await vi.advanceTimersByTimeAsync(1000)
    const late = resolver.resolve('d')
    await vi.advanceTimersByTimeAsync(1999)
    expect(calls).toHaveLength(2)

    await vi.advanceTimersByTimeAsync(1)
    expect(calls.slice(2)).toEqual([
      { keys: ['a', 'b'], at: 3000 },
      { keys: ['c'], at: 3000 },
      { keys: ['d'], at: 3000 },
    ])
    expect((await settled).map((r) => r.status)).toEqual(['fulfilled', 'fulfilled', 'fulfilled'])
    await expect(late).resolves.toMatchObject({ key: 'd' })
    expect(fetchBatch).toHaveBeenCalledTimes(5)
  })

  it('a Retry-After of an hour is waited for a minute; none at all for 2 s', async () => {
    const hour = limitedBackend(1, 3600)
    const resolver = new Resolver({ fetchBatch: hour.fetchBatch })
    const a = resolver.resolve('a')
    await vi.advanceTimersByTimeAsync(60_000)
    await expect(a).resolves.toMatchObject({ key: 'a' })
    expect(hour.calls.map((c) => c.at)).toEqual([0, 60_000])

    const start = Date.now() - T0
    const none = limitedBackend(start + 1, null)
    const other = new Resolver({ fetchBatch: none.fetchBatch })
    const b = other.resolve('b')
    await vi.advanceTimersByTimeAsync(2000)
    await expect(b).resolves.toMatchObject({ key: 'b' })
    expect(none.calls.map((c) => c.at - start)).toEqual([0, 2000])
  })

  it('gives up after its tries: the keys fail with the 429', async () => {
    const { fetchBatch } = limitedBackend(Number.POSITIVE_INFINITY, 1)
    const resolver = new Resolver({ fetchBatch, rateLimitTries: 3 })
    const a = resolver.resolve('a')
    const outcome = a.catch((error: unknown) => error)
    await vi.advanceTimersByTimeAsync(2000)
    expect(await outcome).toMatchObject({ status: 429, code: 'rate_limited', retryAfter: 1 })
    expect(fetchBatch).toHaveBeenCalledTimes(3)
  })

  it('waits for nothing but a 429: a 503 fails its keys at once', async () => {
    const fetchBatch = vi.fn<FetchBatch>(async () => {
      throw new ApiError('http', 'down', 503, 'redis_unavailable', null, 30)
    })
    const resolver = new Resolver({ fetchBatch })
    const a = resolver.resolve('a').catch((error: unknown) => error)
    await vi.advanceTimersByTimeAsync(0)
    expect(await a).toMatchObject({ status: 503 })
    expect(fetchBatch).toHaveBeenCalledTimes(1)
  })
})
