import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { effectScope, nextTick, ref, type EffectScope } from 'vue'

import { ApiError } from '@/api/client'
import type { CachedUrl } from '@/utils/imageCache'
import type { ErrorCode } from '@/api/types'
import { DeliveryLimit } from '@/utils/imageProbe'
import { ResolveError, Resolver, type FetchBatch, type ResolveOptions } from '@/utils/resolver'
import { ORIGINAL } from '@/utils/variants'

import {
  ImageLoadError,
  useSmartImage,
  type UseSmartImageOptions,
  type UseSmartImageReturn,
} from '../useSmartImage'

const T0 = Date.UTC(2025, 0, 1, 12)

/** A resolver whose answers the test scripts; every answer is a new URL version. */
function scriptedResolver(refreshInSeconds = 3600) {
  let version = 0
  const failures: unknown[] = []
  const resolve = vi.fn(async (key: string, _options?: ResolveOptions): Promise<CachedUrl> => {
    const failure = failures.shift()
    if (failure) throw failure
    version++
    const now = Math.floor(Date.now() / 1000)
    return {
      key,
      url: `/objects/${key}?v=${version}`,
      expires_at: now + refreshInSeconds + 3600,
      refresh_at: now + refreshInSeconds,
      etag: null,
    }
  })
  const invalidate = vi.fn(async (_key: string) => {})
  return { resolve, invalidate, failNext: (...errors: unknown[]) => failures.push(...errors) }
}

/** A resolve answering one entry every time (one signing window); `fields` is read per call. */
function sameAnswer(fields: () => Partial<CachedUrl> = () => ({})) {
  return async (key: string): Promise<CachedUrl> => ({
    key,
    url: '/objects/same',
    expires_at: T0 / 1000 + 7200,
    refresh_at: T0 / 1000 + 3600,
    etag: null,
    ...fields(),
  })
}

describe('useSmartImage', () => {
  let scope: EffectScope

  beforeEach(() => {
    vi.useFakeTimers({ now: T0 })
  })

  afterEach(() => {
    scope?.stop()
    vi.useRealTimers()
  })

  function setup(
    key: string | (() => string),
    options: UseSmartImageOptions = {},
    resolver = scriptedResolver(),
  ): UseSmartImageReturn & { resolver: ReturnType<typeof scriptedResolver> } {
    scope = effectScope()
    const image = scope.run(() =>
      useSmartImage(key, {
        resolver,
        random: () => 0.5,
        clock: () => Date.now(),
        // No probe unless a test gives one: every <img> error is a failure.
        deliveryLimit: new DeliveryLimit(null),
        ...options,
      }),
    )!
    return { ...image, resolver }
  }

  /** Runs pending promise callbacks (and timers due now) without moving the clock. */
  const flush = () => vi.advanceTimersByTimeAsync(0)

  it('resolves, loads and reports loaded', async () => {
    const image = setup('a.png')
    expect(image.state.value).toBe('resolving')
    await flush()
    expect(image.state.value).toBe('loading')
    expect(image.src.value).toBe('/objects/a.png?v=1')
    expect(image.source.value).toBe('signed')

    image.onImageLoad(image.loadId.value)
    expect(image.state.value).toBe('loaded')
    expect(image.isReady.value).toBe(true)
  })

  it('error -> re-resolve -> retries with growing delays -> proxy -> error; retry starts over', async () => {
    const image = setup('dir/a b.png')
    const { resolver } = image
    await flush()
    expect(image.src.value).toBe('/objects/dir/a b.png?v=1')

    const delays = [500, 1000, 2000]
    for (const [index, delay] of delays.entries()) {
      image.onImageError(image.loadId.value)
      // The failed URL is dropped from the cache at once, the re-resolve waits for the backoff.
      expect(resolver.invalidate).toHaveBeenCalledTimes(index + 1)
      expect(image.state.value).toBe('resolving')
      expect(image.attempt.value).toBe(index + 1)
      const calls = resolver.resolve.mock.calls.length

      await vi.advanceTimersByTimeAsync(delay - 1)
      expect(resolver.resolve).toHaveBeenCalledTimes(calls)
      await vi.advanceTimersByTimeAsync(1)
      expect(resolver.resolve).toHaveBeenCalledTimes(calls + 1)
      expect(resolver.resolve).toHaveBeenLastCalledWith('dir/a b.png', { refresh: true, variant: ORIGINAL })
      await flush()
      expect(image.state.value).toBe('loading')
      expect(image.src.value).toBe(`/objects/dir/a b.png?v=${index + 2}`)
    }

    // Tries used up: the proxy, without another resolve and without waiting.
    image.onImageError(image.loadId.value)
    expect(image.state.value).toBe('loading')
    expect(image.source.value).toBe('proxy')
    expect(image.src.value).toBe('/p/dir/a%20b.png')
    expect(resolver.resolve).toHaveBeenCalledTimes(4)

    // The proxy fails too: error state, nothing left scheduled.
    image.onImageError(image.loadId.value)
    expect(image.state.value).toBe('error')
    expect(image.error.value).toBeInstanceOf(ImageLoadError)
    expect(vi.getTimerCount()).toBe(0)
    await vi.advanceTimersByTimeAsync(60_000)
    expect(resolver.resolve).toHaveBeenCalledTimes(4)

    // retry() starts over: a plain resolve, the counter back at zero, the full tries again.
    image.retry()
    expect(image.state.value).toBe('resolving')
    expect(image.src.value).toBeUndefined() // the failed URL is not fetched again
    expect(image.attempt.value).toBe(0)
    expect(image.error.value).toBeNull()
    expect(resolver.resolve).toHaveBeenLastCalledWith('dir/a b.png', { refresh: false, variant: ORIGINAL })
    await flush()
    expect(image.src.value).toBe('/objects/dir/a b.png?v=5')
    image.onImageError(image.loadId.value)
    expect(image.attempt.value).toBe(1)
    await vi.advanceTimersByTimeAsync(500)
    expect(resolver.resolve).toHaveBeenCalledTimes(6)
    await flush()
    image.onImageLoad(image.loadId.value)
    expect(image.state.value).toBe('loaded')
  })

  it('spreads delays with jitter but keeps them growing', async () => {
    const image = setup('a.png', { random: () => 0, jitter: 0.2 })
    await flush()
    image.onImageError(image.loadId.value)
    await vi.advanceTimersByTimeAsync(399)
    expect(image.resolver.resolve).toHaveBeenCalledTimes(1)
    await vi.advanceTimersByTimeAsync(1) // 500 ms * 0.8
    expect(image.resolver.resolve).toHaveBeenCalledTimes(2)
  })

  it('gives up at once on a permanent error (missing key): no retries, no proxy', async () => {
    const resolver = scriptedResolver()
    resolver.failNext(new ResolveError('gone.png', 'not_found', 'no such key'))
    const image = setup('gone.png', {}, resolver)
    await flush()
    expect(image.state.value).toBe('error')
    expect(image.error.value).toMatchObject({ code: 'not_found' })
    expect(vi.getTimerCount()).toBe(0)
  })

  describe('a per-key error from the real resolver', () => {
    /** A backend that refuses `key` with `code` on every ask, plain or forced. */
    function refusing(code: ErrorCode) {
      const fetchBatch = vi.fn<FetchBatch>(async (keys) => ({
        items: [],
        errors: keys.map((key) => ({ key, code, message: code })),
      }))
      return { fetchBatch, resolver: new Resolver({ fetchBatch }) }
    }

    it.each<ErrorCode>(['access_denied', 'not_found', 'empty_key', 'absolute_key', 'control_character', 'invalid_encoding'])(
      '%s is permanent: one resolve, no forced re-resolve, no proxy, the error slot',
      async (code) => {
        const { fetchBatch, resolver } = refusing(code)
        const image = setup('private/a.png', { resolver })
        await vi.advanceTimersByTimeAsync(60_000)
        expect(fetchBatch).toHaveBeenCalledExactlyOnceWith(['private/a.png'], false, ORIGINAL)
        expect(image.state.value).toBe('error')
        expect(image.error.value).toMatchObject({ name: 'ResolveError', code })
        expect(image.src.value).toBeUndefined()
        expect(image.source.value).toBeUndefined()
      },
    )

    it('storage_unavailable is transient: forced re-resolves with backoff, then the proxy', async () => {
      const { fetchBatch, resolver } = refusing('storage_unavailable')
      const image = setup('a.png', { resolver })
      await vi.advanceTimersByTimeAsync(500 + 1000 + 2000 + 10)
      expect(fetchBatch.mock.calls.map(([, refresh]) => refresh)).toEqual([false, true, true, true])
      expect(image.source.value).toBe('proxy')
      expect(image.state.value).toBe('loading')
    })
  })

  it('retries a failing resolve (network) and then falls back to the proxy', async () => {
    const resolver = scriptedResolver()
    const offline = new ApiError('network', 'Failed to fetch')
    resolver.failNext(offline, offline, offline, offline)
    const image = setup('a.png', {}, resolver)
    await flush()
    expect(image.state.value).toBe('resolving')
    await vi.advanceTimersByTimeAsync(500 + 1000 + 2000)
    expect(resolver.resolve).toHaveBeenCalledTimes(4)
    expect(image.source.value).toBe('proxy')
    expect(image.src.value).toBe('/p/a.png')
    image.onImageLoad(image.loadId.value)
    expect(image.state.value).toBe('loaded')
  })

  it('versions the proxy fallback by the latest etag, so a fixed object is not a cached bad copy', async () => {
    const resolver = scriptedResolver()
    let etag = '"bad"'
    resolver.resolve.mockImplementation(sameAnswer(() => ({ etag })))
    const image = setup('a b.png', { retries: 1 }, resolver)
    await flush()
    image.onImageError(image.loadId.value)
    await vi.advanceTimersByTimeAsync(500)
    image.onImageError(image.loadId.value)
    expect(image.src.value).toBe('/p/a%20b.png?v=%22bad%22')
    image.onImageError(image.loadId.value)
    expect(image.state.value).toBe('error')

    // The object is fixed; the forced re-resolve sees its new etag and the proxy URL follows.
    image.retry()
    await flush()
    etag = '"good"'
    image.onImageError(image.loadId.value)
    await vi.advanceTimersByTimeAsync(500)
    image.onImageError(image.loadId.value)
    expect(image.src.value).toBe('/p/a%20b.png?v=%22good%22')
    image.onImageLoad(image.loadId.value)
    expect(image.state.value).toBe('loaded')
  })

  it('direct mode never uses the proxy', async () => {
    const image = setup('a.png', { mode: 'direct', retries: 1 })
    await flush()
    image.onImageError(image.loadId.value)
    await vi.advanceTimersByTimeAsync(500)
    image.onImageError(image.loadId.value)
    expect(image.state.value).toBe('error')
    expect(image.src.value).not.toContain('/p/')
  })

  it('redirect mode uses /i/<key>, retries it with a new URL, then the proxy', async () => {
    const image = setup('a/ü.png', { mode: 'redirect', retries: 1 })
    expect(image.state.value).toBe('loading')
    expect(image.src.value).toBe('/i/a/%C3%BC.png')
    expect(image.resolver.resolve).not.toHaveBeenCalled()
    image.onImageError(image.loadId.value)
    await vi.advanceTimersByTimeAsync(500)
    expect(image.src.value).toBe('/i/a/%C3%BC.png?retry=1')
    image.onImageError(image.loadId.value)
    expect(image.src.value).toBe('/p/a/%C3%BC.png')
  })

  it('gives a new loadId to each try, even when the URL is the same', async () => {
    const resolver = scriptedResolver()
    resolver.resolve.mockImplementation(sameAnswer())
    const image = setup('a.png', {}, resolver)
    await flush()
    const first = image.loadId.value
    image.onImageError(first)
    await vi.advanceTimersByTimeAsync(500)
    expect(image.src.value).toBe('/objects/same')
    expect(image.loadId.value).not.toBe(first)
  })

  it('ignores events from an <img> of an earlier try', async () => {
    const image = setup('a.png')
    await flush()
    const stale = image.loadId.value
    image.onImageError(stale)
    await vi.advanceTimersByTimeAsync(500)
    image.onImageError(stale) // late event from the element that was replaced
    expect(image.attempt.value).toBe(1)
    expect(image.state.value).toBe('loading')
  })

  it('stays idle until active, then starts', async () => {
    const active = ref(false)
    const image = setup('a.png', { active })
    await flush()
    expect(image.state.value).toBe('idle')
    expect(image.resolver.resolve).not.toHaveBeenCalled()
    active.value = true
    await nextTick()
    expect(image.resolver.resolve).toHaveBeenCalledOnce()
    await flush()
    expect(image.state.value).toBe('loading')
  })

  it('starts over for a new key', async () => {
    const key = ref('a.png')
    const image = setup(() => key.value)
    await flush()
    image.onImageLoad(image.loadId.value)
    key.value = 'b.png'
    await nextTick()
    expect(image.resolver.resolve).toHaveBeenLastCalledWith('b.png', { refresh: false, variant: ORIGINAL })
    await flush()
    expect(image.state.value).toBe('loading')
    expect(image.src.value).toBe('/objects/b.png?v=2')
  })

  describe('long-lived tabs', () => {
    it('re-resolves ahead of refresh_at while visible and swaps the URL in place', async () => {
      const resolver = scriptedResolver(600) // refresh_at = now + 10 min
      const image = setup('a.png', { refreshLead: 60_000 }, resolver)
      await flush()
      image.onImageLoad(image.loadId.value)

      await vi.advanceTimersByTimeAsync(540_000 - 1)
      expect(resolver.resolve).toHaveBeenCalledTimes(1)
      await vi.advanceTimersByTimeAsync(1)
      expect(resolver.resolve).toHaveBeenCalledTimes(2)
      expect(resolver.resolve).toHaveBeenLastCalledWith('a.png', { bypassCache: true, variant: ORIGINAL })
      await flush()
      expect(image.src.value).toBe('/objects/a.png?v=2')
      expect(image.state.value).toBe('loaded') // no placeholder flash

      // And again for the next URL.
      await vi.advanceTimersByTimeAsync(540_000)
      expect(resolver.resolve).toHaveBeenCalledTimes(3)
    })

    it('by default re-resolves when refresh_at comes (the moment a newer URL exists)', async () => {
      const resolver = scriptedResolver(600)
      const image = setup('a.png', {}, resolver)
      await flush()
      image.onImageLoad(image.loadId.value)
      await vi.advanceTimersByTimeAsync(600_000 - 1)
      expect(resolver.resolve).toHaveBeenCalledTimes(1)
      await vi.advanceTimersByTimeAsync(1)
      expect(resolver.resolve).toHaveBeenCalledTimes(2)
      await flush()
      expect(image.src.value).toBe('/objects/a.png?v=2')
    })

    it('waits while hidden and refreshes as soon as it is visible again', async () => {
      const visible = ref(true)
      const resolver = scriptedResolver(600)
      const image = setup('a.png', { visible, refreshLead: 60_000 }, resolver)
      await flush()
      image.onImageLoad(image.loadId.value)
      visible.value = false
      await nextTick()

      await vi.advanceTimersByTimeAsync(3_600_000)
      expect(resolver.resolve).toHaveBeenCalledTimes(1)

      visible.value = true
      await nextTick()
      await flush()
      expect(resolver.resolve).toHaveBeenCalledTimes(2)
      expect(image.src.value).toBe('/objects/a.png?v=2')
    })

    it('never hammers the backend when it keeps answering an old refresh_at', async () => {
      const resolver = scriptedResolver()
      // refresh_at already within the lead
      resolver.resolve.mockImplementation(sameAnswer(() => ({ refresh_at: T0 / 1000 + 30 })))
      const image = setup('a.png', { refreshLead: 60_000, minRefreshInterval: 30_000 }, resolver)
      await flush()
      image.onImageLoad(image.loadId.value)
      await flush()
      const afterLoad = resolver.resolve.mock.calls.length
      await vi.advanceTimersByTimeAsync(120_000)
      // At most one re-resolve per 30 s.
      expect(resolver.resolve.mock.calls.length - afterLoad).toBeLessThanOrEqual(4)
    })

    it('keeps the current URL when a refresh fails', async () => {
      const resolver = scriptedResolver(600)
      const image = setup('a.png', { refreshLead: 60_000 }, resolver)
      await flush()
      image.onImageLoad(image.loadId.value)
      resolver.failNext(new ApiError('http', 'down', 503))
      await vi.advanceTimersByTimeAsync(540_000)
      await flush()
      expect(image.state.value).toBe('loaded')
      expect(image.src.value).toBe('/objects/a.png?v=1')
      await vi.advanceTimersByTimeAsync(30_000)
      expect(image.src.value).toBe('/objects/a.png?v=2')
    })
  })

  it('stops its timers when its scope ends', async () => {
    const image = setup('a.png')
    await flush()
    image.onImageError(image.loadId.value)
    expect(vi.getTimerCount()).toBe(1)
    scope.stop()
    expect(vi.getTimerCount()).toBe(0)
  })
})
