import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { effectScope, nextTick, ref, type EffectScope } from 'vue'

import { defaultTimers, MAX_TIMER_DELAY_MS } from '@/utils/timers'

import { useRefreshTimer } from '../useRefreshTimer'

describe('useRefreshTimer', () => {
  let scope: EffectScope
  /** The fake clock's start; deadlines are given relative to it. */
  let T0: number
  beforeEach(() => {
    vi.useFakeTimers()
    T0 = Date.now()
    scope = effectScope()
  })
  afterEach(() => {
    scope.stop()
    vi.useRealTimers()
  })

  function setup(due: () => number | null, enabled = () => true) {
    const visible = ref(true)
    const onDue = vi.fn()
    const timer = scope.run(() =>
      useRefreshTimer({ due, enabled, visible, onDue, timers: defaultTimers, clock: Date.now }),
    )!
    return { ...timer, visible, onDue }
  }

  it('fires at the deadline, not before', async () => {
    const timer = setup(() => T0 + 60_000)
    timer.schedule()
    await vi.advanceTimersByTimeAsync(59_999)
    expect(timer.onDue).not.toHaveBeenCalled()
    await vi.advanceTimersByTimeAsync(1)
    expect(timer.onDue).toHaveBeenCalledOnce()
  })

  it('waits at least notBefore, even when the deadline has passed', async () => {
    const timer = setup(() => T0 - 1000)
    timer.schedule(30_000)
    await vi.advanceTimersByTimeAsync(29_999)
    expect(timer.onDue).not.toHaveBeenCalled()
    await vi.advanceTimersByTimeAsync(1)
    expect(timer.onDue).toHaveBeenCalledOnce()
  })

  it('is not set with nothing due', async () => {
    const timer = setup(() => null)
    timer.schedule()
    await vi.advanceTimersByTimeAsync(MAX_TIMER_DELAY_MS)
    expect(timer.onDue).not.toHaveBeenCalled()
  })

  it('is not set, and does not fire, while disabled', async () => {
    let enabled = false
    const timer = setup(() => T0 + 1000, () => enabled)
    timer.schedule()
    expect(vi.getTimerCount()).toBe(0)
    enabled = true
    timer.schedule()
    enabled = false
    await vi.advanceTimersByTimeAsync(2000)
    expect(timer.onDue).not.toHaveBeenCalled()
  })

  it('drops the timer while hidden and fires at once when shown after the deadline', async () => {
    const timer = setup(() => T0 + 10_000)
    timer.schedule()
    timer.visible.value = false
    await nextTick()
    await vi.advanceTimersByTimeAsync(20_000)
    expect(timer.onDue).not.toHaveBeenCalled()

    timer.visible.value = true
    await nextTick()
    await vi.advanceTimersByTimeAsync(0)
    expect(timer.onDue).toHaveBeenCalledOnce()
  })

  it('waits again when a deadline beyond the longest timer makes it fire early', async () => {
    const timer = setup(() => T0 + 40 * 24 * 3600_000)
    timer.schedule()
    await vi.advanceTimersByTimeAsync(MAX_TIMER_DELAY_MS)
    expect(timer.onDue).not.toHaveBeenCalled()
    expect(vi.getTimerCount()).toBe(1)
  })

  it('stops with its scope', async () => {
    const timer = setup(() => T0 + 1000)
    timer.schedule()
    scope.stop()
    await vi.advanceTimersByTimeAsync(2000)
    expect(timer.onDue).not.toHaveBeenCalled()
  })
})
