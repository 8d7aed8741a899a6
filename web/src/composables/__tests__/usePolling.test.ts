import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { effectScope, ref, type EffectScope } from 'vue'

import { ApiError } from '@/api/client'

import { usePolling } from '../usePolling'

/** Makes the page hidden or shown, as a browser does when the tab goes to the background. */
function setPageVisibility(state: DocumentVisibilityState) {
  Object.defineProperty(document, 'visibilityState', { configurable: true, get: () => state })
  document.dispatchEvent(new Event('visibilitychange'))
}

describe('usePolling', () => {
  let scope: EffectScope
  beforeEach(() => {
    vi.useFakeTimers()
    scope = effectScope()
  })
  afterEach(() => {
    scope.stop()
    setPageVisibility('visible')
    vi.useRealTimers()
  })

  it('calls now and then every interval after each call ends', async () => {
    const task = vi.fn(async () => {})
    scope.run(() => usePolling(task, { interval: 1000 }))
    await vi.advanceTimersByTimeAsync(0)
    expect(task).toHaveBeenCalledTimes(1)
    await vi.advanceTimersByTimeAsync(999)
    expect(task).toHaveBeenCalledTimes(1)
    await vi.advanceTimersByTimeAsync(1)
    expect(task).toHaveBeenCalledTimes(2)
  })

  it('backs off after failures and honours Retry-After', async () => {
    const task = vi
      .fn<() => Promise<void>>()
      .mockRejectedValueOnce(new ApiError('network', 'offline'))
      .mockRejectedValueOnce(new ApiError('http', 'slow down', 429, 'rate_limited', null, 30))
      .mockResolvedValue(undefined)
    const polling = scope.run(() => usePolling(task, { interval: 1000 }))!
    await vi.advanceTimersByTimeAsync(0)
    expect(polling.error.value).toBeInstanceOf(ApiError)
    await vi.advanceTimersByTimeAsync(1999)
    expect(task).toHaveBeenCalledTimes(1)
    await vi.advanceTimersByTimeAsync(1) // 1000 * 2^1
    expect(task).toHaveBeenCalledTimes(2)
    await vi.advanceTimersByTimeAsync(29_999) // Retry-After beats 4 s of backoff
    expect(task).toHaveBeenCalledTimes(2)
    await vi.advanceTimersByTimeAsync(1)
    expect(task).toHaveBeenCalledTimes(3)
    expect(polling.error.value).toBeNull()
  })

  it('stops when onError says so (e.g. 401)', async () => {
    const task = vi.fn(async () => {
      throw new ApiError('http', 'no', 401)
    })
    scope.run(() => usePolling(task, { interval: 1000, onError: () => false }))
    await vi.advanceTimersByTimeAsync(60_000)
    expect(task).toHaveBeenCalledTimes(1)
  })

  it('pauses while disabled and catches up when enabled again', async () => {
    const enabled = ref(true)
    const task = vi.fn(async () => {})
    scope.run(() => usePolling(task, { interval: 1000, enabled }))
    await vi.advanceTimersByTimeAsync(0)
    enabled.value = false
    await vi.advanceTimersByTimeAsync(10_000)
    expect(task).toHaveBeenCalledTimes(1)
    enabled.value = true
    await vi.advanceTimersByTimeAsync(0)
    expect(task).toHaveBeenCalledTimes(2)
  })

  it('stops while the page is hidden and calls at once when it is shown again', async () => {
    const task = vi.fn(async () => {})
    scope.run(() => usePolling(task, { interval: 1000 }))
    await vi.advanceTimersByTimeAsync(0)
    expect(task).toHaveBeenCalledTimes(1)
    setPageVisibility('hidden')
    await vi.advanceTimersByTimeAsync(10_000)
    expect(task).toHaveBeenCalledTimes(1)
    setPageVisibility('visible')
    await vi.advanceTimersByTimeAsync(0)
    expect(task).toHaveBeenCalledTimes(2)
    await vi.advanceTimersByTimeAsync(1000) // and on from there
    expect(task).toHaveBeenCalledTimes(3)
  })

  it('never overlaps calls: the interval starts when a slow call ends', async () => {
    const task = vi.fn(() => new Promise<void>((resolve) => setTimeout(resolve, 3000)))
    scope.run(() => usePolling(task, { interval: 1000 }))
    await vi.advanceTimersByTimeAsync(3999)
    expect(task).toHaveBeenCalledTimes(1)
    await vi.advanceTimersByTimeAsync(1)
    expect(task).toHaveBeenCalledTimes(2)
  })

  it('refresh() calls now and restarts the interval', async () => {
    const task = vi.fn(async () => {})
    const polling = scope.run(() => usePolling(task, { interval: 1000 }))!
    await vi.advanceTimersByTimeAsync(600)
    await polling.refresh()
    expect(task).toHaveBeenCalledTimes(2)
    await vi.advanceTimersByTimeAsync(999)
    expect(task).toHaveBeenCalledTimes(2)
    await vi.advanceTimersByTimeAsync(1)
    expect(task).toHaveBeenCalledTimes(3)
  })

  it('a new interval applies to the wait under way, but does not cut a Retry-After short', async () => {
    const interval = ref(5000)
    const task = vi.fn<() => Promise<void>>().mockResolvedValue(undefined)
    scope.run(() => usePolling(task, { interval }))
    await vi.advanceTimersByTimeAsync(0)
    interval.value = 2000
    await vi.advanceTimersByTimeAsync(2000)
    expect(task).toHaveBeenCalledTimes(2)

    task.mockRejectedValueOnce(new ApiError('http', 'slow down', 429, 'rate_limited', null, 30))
    await vi.advanceTimersByTimeAsync(2000)
    expect(task).toHaveBeenCalledTimes(3)
    interval.value = 1000
    await vi.advanceTimersByTimeAsync(29_000)
    expect(task).toHaveBeenCalledTimes(3)
    await vi.advanceTimersByTimeAsync(1000)
    expect(task).toHaveBeenCalledTimes(4)
  })
})
