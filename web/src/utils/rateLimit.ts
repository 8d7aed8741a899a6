/**
 * Waiting out a 429. The backend answers `rate_limited` with `Retry-After`; whatever spends one
 * budget shares one "not before" time (a {@link RateLimitGate}), so the first request that meets
 * the limit holds the others back as well, instead of each of them finding the limit on its own
 * and all of them trying again at once.
 */
import { ApiError } from '@/api/client'
import { retryOf } from '@/api/vocabulary'

import { defaultClock, defaultTimers, type Clock, type Timers } from './timers'

/** The wait when a 429 names none (no or an unreadable `Retry-After`). */
export const DEFAULT_RATE_LIMIT_WAIT_MS = 2_000

/** The longest wait taken, whatever `Retry-After` says: an image never waits for minutes. */
export const MAX_RATE_LIMIT_WAIT_MS = 60_000

/** Milliseconds to wait for a `Retry-After` of `seconds` (null or undefined: none given). */
export function retryAfterDelay(
  seconds: number | null | undefined,
  max = MAX_RATE_LIMIT_WAIT_MS,
  fallback = DEFAULT_RATE_LIMIT_WAIT_MS,
): number {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) {
    return Math.min(fallback, max)
  }
  return Math.min(Math.max(0, seconds * 1000), max)
}

/** A request the server refused for its rate limit (429, or a code classified as a wait). */
export function isRateLimited(error: unknown): error is ApiError {
  if (!(error instanceof ApiError) || error.kind !== 'http') return false
  return error.status === 429 || retryOf(error.code) === 'wait'
}

/**
 * One "not before" time for everything that spends one budget of the server. Hand-written: a
 * timestamp and a loop; the waiting itself goes through the injectable timers.
 */
export class RateLimitGate {
  private notBefore = 0

  constructor(
    private readonly clock: Clock = defaultClock,
    private readonly timers: Timers = defaultTimers,
  ) {}

  /** Holds everyone back for `delay` ms from now; never shortens a wait already set. */
  hold(delay: number): number {
    this.notBefore = Math.max(this.notBefore, this.clock() + Math.max(0, delay))
    return this.notBefore
  }

  /** Milliseconds until the gate opens; 0 when it is open. */
  remaining(): number {
    return Math.max(0, this.notBefore - this.clock())
  }

  /** Milliseconds since the gate last opened (negative while it is held). */
  openFor(): number {
    return this.clock() - this.notBefore
  }

  /** Resolves once the gate is open, also when it was held longer meanwhile. */
  async wait(): Promise<void> {
    for (let ms = this.remaining(); ms > 0; ms = this.remaining()) {
      await new Promise<void>((resolve) => this.timers.setTimeout(resolve, ms))
    }
  }
}
