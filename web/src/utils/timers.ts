/**
 * Time sources that the image machinery takes by injection, so tests drive them with fake timers
 * or a pinned clock instead of sleeping.
 */
export type TimerId = ReturnType<typeof setTimeout>

export interface Timers {
  setTimeout(callback: () => void, ms: number): TimerId
  clearTimeout(id: TimerId | undefined): void
}

/** Milliseconds since the epoch, like `Date.now`. */
export type Clock = () => number

/** Looks the globals up at call time so `vi.useFakeTimers()` after import still applies. */
export const defaultTimers: Timers = {
  setTimeout: (callback, ms) => globalThis.setTimeout(callback, ms),
  clearTimeout: (id) => globalThis.clearTimeout(id),
}

export const defaultClock: Clock = () => Date.now()

/** Browsers fire `setTimeout` at once for delays past 2^31-1 ms (~24.8 days): clamp below that. */
export const MAX_TIMER_DELAY_MS = 2 ** 31 - 1

export function clampDelay(ms: number): number {
  if (!Number.isFinite(ms) || ms < 0) return 0
  return Math.min(ms, MAX_TIMER_DELAY_MS)
}
