/** How `useSmartImage` waits out a 429: of an `<img>` (found by a probe) or of a resolve. */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { effectScope, type EffectScope } from 'vue'

import { ApiError } from '@/api/client'
import type { CachedUrl } from '@/utils/imageCache'
import { DeliveryLimit, type ImageRateLimit, type ProbeImage } from '@/utils/imageProbe'
import { RateLimitGate } from '@/utils/rateLimit'

import { ImageLoadError, useSmartImage, type UseSmartImageOptions } from '../useSmartImage'

const T0 = Date.UTC(2025, 0, 1, 12)
const tooMany = (retryAfter: number | null): ImageRateLimit => ({ retryAfter, seen: true })

function resolverAnswering(url: (key: string) => string = (key) => `/objects/${key}?sig=1`) {
  const failures: unknown[] = []
  const resolve = vi.fn(async (key: string): Promise<CachedUrl> => {
    const failure = failures.shift()
    if (failure) throw failure
    const now = Math.floor(Date.now() / 1000)
    return { key, url: url(key), expires_at: now + 7200, refresh_at: now + 3600, etag: null }
  })
  const invalidate = vi.fn(async () => {})
  return { resolve, invalidate, failNext: (error: unknown) => failures.push(error) }
}

describe('useSmartImage under a rate limit', () => {
  let scope: EffectScope
  let gate: RateLimitGate

  beforeEach(() => {
    vi.useFakeTimers({ now: T0 })
    scope = effectScope()
    gate = new RateLimitGate()
  })
  afterEach(() => {
    scope.stop()
    vi.useRealTimers()
  })

  /** Probes answer from `answers` in turn, then "not a 429". */
  function probeAnswering(...answers: (ImageRateLimit | null)[]) {
    return vi.fn<ProbeImage>(async () => answers.shift() ?? null)
  }

  function image(key: string, probe: ProbeImage, options: UseSmartImageOptions = {}, resolver = resolverAnswering()) {
    const result = scope.run(() =>
      useSmartImage(key, {
        resolver,
        random: () => 0.5, // spread after a shared wait: half of it
        clock: () => Date.now(),
        deliveryLimit: new DeliveryLimit(probe, gate),
        ...options,
      }),
    )!
    return { ...result, resolver }
  }

  const flush = () => vi.advanceTimersByTimeAsync(0)

  it('probes a failed redirect once; a 429 waits Retry-After and loads the same URL, no proxy', async () => {
    const probe = probeAnswering(tooMany(2))
    const img = image('a.png', probe, { mode: 'redirect' })
    expect(img.src.value).toBe('/i/a.png')
    const first = img.loadId.value

    img.onImageError(first)
    await flush()
    expect(probe).toHaveBeenCalledTimes(1)
    expect(probe).toHaveBeenCalledWith('/i/a.png')
    // Waiting is loading, not an error, and uses no try.
    expect(img.state.value).toBe('loading')
    expect(img.attempt.value).toBe(0)
    expect(img.waitingUntil.value).toBe(T0 + 2000)

    await vi.advanceTimersByTimeAsync(2999)
    expect(img.loadId.value).toBe(first)
    await vi.advanceTimersByTimeAsync(1)
    expect(img.loadId.value).toBe(first + 1)
    expect(img.src.value).toBe('/i/a.png')
    expect(img.source.value).toBe('redirect')
    expect(img.waitingUntil.value).toBeNull()

    img.onImageLoad(img.loadId.value)
    expect(img.state.value).toBe('loaded')
    expect(probe).toHaveBeenCalledTimes(1)
  })

  it('an image failing during the wait joins it without a probe of its own', async () => {
    const probe = probeAnswering(tooMany(3))
    const a = image('a.png', probe, { mode: 'redirect' })
    const b = image('b.png', probe, { mode: 'redirect' })
    a.onImageError(a.loadId.value)
    await flush()
    await vi.advanceTimersByTimeAsync(1000)
    const bFirst = b.loadId.value
    b.onImageError(bFirst)
    await flush()
    expect(probe).toHaveBeenCalledTimes(1)
    expect(b.state.value).toBe('loading')
    expect(b.waitingUntil.value).toBe(T0 + 3000)

    // b goes when the shared wait is over, plus its spread (half of the 2 s it waited).
    await vi.advanceTimersByTimeAsync(2999)
    expect(b.loadId.value).toBe(bFirst)
    await vi.advanceTimersByTimeAsync(1)
    expect(b.loadId.value).toBe(bFirst + 1)
    expect(b.src.value).toBe('/i/b.png')
    expect([a.src.value, b.src.value].some((src) => src?.includes('/p/'))).toBe(false)
  })

  it('holds the wait to a minute whatever Retry-After says', async () => {
    const img = image('a.png', probeAnswering(tooMany(86_400)), { mode: 'redirect' })
    const first = img.loadId.value
    img.onImageError(first)
    await flush()
    expect(img.waitingUntil.value).toBe(T0 + 60_000)
    // Plus a spread of at most the backoff bound (10 s): half of it here.
    await vi.advanceTimersByTimeAsync(64_999)
    expect(img.loadId.value).toBe(first)
    await vi.advanceTimersByTimeAsync(1)
    expect(img.loadId.value).toBe(first + 1)
  })

  it('once its waits are used up, a 429 shows the error state, still without the proxy', async () => {
    const probe = probeAnswering(tooMany(1), tooMany(1))
    const img = image('a.png', probe, { mode: 'redirect', rateLimitWaits: 1 })
    img.onImageError(img.loadId.value)
    await flush()
    await vi.advanceTimersByTimeAsync(1500)
    img.onImageError(img.loadId.value)
    await flush()
    expect(img.state.value).toBe('error')
    expect(img.error.value).toBeInstanceOf(ImageLoadError)
    expect((img.error.value as ImageLoadError).rateLimit).toEqual(tooMany(1))
    expect(img.src.value).toBe('/i/a.png')
  })

  it('an image error that is no 429 goes on as before: a new try, in the end the proxy', async () => {
    const probe = probeAnswering(null)
    const img = image('a.png', probe, { mode: 'redirect', retries: 1 })
    img.onImageError(img.loadId.value)
    await flush()
    expect(img.attempt.value).toBe(1)
    await vi.advanceTimersByTimeAsync(500)
    expect(img.src.value).toBe('/i/a.png?retry=1')
    img.onImageError(img.loadId.value)
    await flush()
    expect(img.src.value).toBe('/p/a.png')
    expect(probe).toHaveBeenCalledTimes(2)
  })

  it('never probes a URL of another origin (storage, CDN)', async () => {
    const probe = probeAnswering(tooMany(1))
    const resolver = resolverAnswering((key) => `https://bucket.cos.example.com/${key}?sign=1`)
    const img = image('a.png', probe, {}, resolver)
    await flush()
    img.onImageError(img.loadId.value)
    await flush()
    expect(probe).not.toHaveBeenCalled()
    expect(img.attempt.value).toBe(1)
    expect(resolver.invalidate).toHaveBeenCalledTimes(1)
  })

  it('a resolve refused with 429 stays resolving for Retry-After, then asks again', async () => {
    const resolver = resolverAnswering()
    resolver.failNext(new ApiError('http', 'Too many requests', 429, 'rate_limited', null, 4))
    const img = image('a.png', probeAnswering(), {}, resolver)
    await flush()
    expect(img.state.value).toBe('resolving')
    expect(img.waitingUntil.value).toBe(T0 + 4000)
    await vi.advanceTimersByTimeAsync(5999)
    expect(resolver.resolve).toHaveBeenCalledTimes(1)
    await vi.advanceTimersByTimeAsync(1)
    expect(resolver.resolve).toHaveBeenCalledTimes(2)
    await flush()
    expect(img.state.value).toBe('loading')
    expect(img.src.value).toBe('/objects/a.png?sig=1')
    expect(img.attempt.value).toBe(0)
    expect(resolver.invalidate).not.toHaveBeenCalled()
  })
})
