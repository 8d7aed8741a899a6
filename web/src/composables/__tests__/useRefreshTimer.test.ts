import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { effectScope, nextTick, ref, type EffectScope } from 'vue'

import { defaultTimers, MAX_TIMER_DELAY_MS } from '@/utils/timers'

import { useRefreshTimer } from '../useRefreshTimer'

const T0 = Date.UTC(2025, 0, 1, 12)

describe('useRefreshTimer', () => {
  let scope: EffectScope

  beforeEach(() => {
    vi.useFakeTimers({ now: T0 })
  })

  afterEach(() => {
    scope?.stop()
    vi.useRealTimers()
  })

  function setup(due: () => number | null, enabled = () => true) {
    const visible = ref(true)
    const onDue = vi.fn()
    scope = effectScope()
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

  it('is not set with nothing due or while disabled', async () => {
    const nothing = setup(() => null)
    nothing.schedule()
    await vi.advanceTimersByTimeAsync(MAX_TIMER_DELAY_MS)
    expect(nothing.onDue).not.toHaveBeenCalled()
    scope.stop()

    const disabled = setup(() => T0, () => false)
    disabled.schedule()
    await vi.advanceTimersByTimeAsync(1000)
    expect(disabled.onDue).not.toHaveBeenCalled()
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
