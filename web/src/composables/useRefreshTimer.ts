/**
 * One timer that fires when a visible thing's deadline comes: set while it is on screen,
 * dropped while it is not, set again (and fired at once if overdue) when it comes back. The
 * `<SmartImage>` state machine uses it to re-resolve a signed URL at its `refresh_at`.
 */
import { getCurrentScope, onScopeDispose, toValue, watch, type MaybeRefOrGetter } from 'vue'

import {
  clampDelay,
  MAX_TIMER_DELAY_MS,
  type Clock,
  type TimerId,
  type Timers,
} from '@/utils/timers'

export interface UseRefreshTimerOptions {
  /** Epoch ms at which `onDue` should run, or null when there is nothing to refresh. */
  due: () => number | null
  /** Whether refreshing applies now (the image has loaded); checked on setting and on firing. */
  enabled: () => boolean
  /** Whether it is on screen; watched. */
  visible: MaybeRefOrGetter<boolean>
  onDue: () => void
  timers: Timers
  clock: Clock
}

export interface UseRefreshTimerReturn {
  /** (Re)sets the timer for `due()`, but at least `notBefore` ms from now. */
  schedule: (notBefore?: number) => void
  cancel: () => void
}

export function useRefreshTimer(options: UseRefreshTimerOptions): UseRefreshTimerReturn {
  const { due, enabled, visible, onDue, timers, clock } = options
  let timer: TimerId | undefined

  function cancel() {
    timers.clearTimeout(timer)
    timer = undefined
  }

  /** The deadline, when the timer should run at all. */
  function pending(): number | null {
    const at = due()
    return at !== null && enabled() && toValue(visible) ? at : null
  }

  function schedule(notBefore = 0) {
    cancel()
    const at = pending()
    if (at === null) return
    timer = timers.setTimeout(fire, clampDelay(Math.max(at - clock(), notBefore)))
  }

  function fire() {
    timer = undefined
    const at = pending()
    if (at === null) return
    // A timer clamped to ~24.8 days fired early: just wait again.
    if (at - clock() > MAX_TIMER_DELAY_MS / 2) {
      schedule()
      return
    }
    onDue()
  }

  watch(
    () => toValue(visible),
    (isVisible) => (isVisible ? schedule() : cancel()),
  )
  if (getCurrentScope()) onScopeDispose(cancel)

  return { schedule, cancel }
}
