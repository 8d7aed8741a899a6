/**
 * What a `<SmartImage>` does after a failure: wait out a rate limit, try the same source again
 * after a growing, jittered delay, fall back to the proxy once the tries are used up, or give
 * up. Pure: the composable owns the state and the timers, this decides.
 */
import { ApiError } from '@/api/client'
import { retryOf } from '@/api/vocabulary'

import {
  fallsBackToProxy,
  ImageLoadError,
  type SmartImageMode,
  type SmartImageSource,
} from './imageDelivery'
import type { ImageRateLimit } from './imageProbe'
import { retryAfterDelay } from './rateLimit'
import { isPermanentResolveFailure, ResolveError } from './resolver'

export interface RetryPolicy {
  /**
   * Tries after a failure before falling back to the proxy (or giving up).
   * @default 3
   */
  retries: number
  /**
   * Delay before the first try in ms; each next try waits twice as long.
   * @default 500
   */
  retryDelay: number
  /**
   * Upper bound of a single backoff delay in ms.
   * @default 10_000
   */
  maxRetryDelay: number
  /**
   * Random spread of each delay, as a fraction (0.2 = ±20 %), so images that failed together do
   * not retry together.
   * @default 0.2
   */
  jitter: number
  /**
   * Waits for a rate limit (429) per (re)start; they use no try. Once they are used up, a 429
   * shows the error state (never the proxy, which spends the same budget); a failure only
   * taken for one (not probed) goes on as any failure.
   * @default 10
   */
  rateLimitWaits: number
  /** @default Math.random */
  random: () => number
}

export const DEFAULT_RETRY_POLICY: Readonly<RetryPolicy> = {
  retries: 3,
  retryDelay: 500,
  maxRetryDelay: 10_000,
  jitter: 0.2,
  rateLimitWaits: 10,
  // Looked up at call time, so a test's spy on Math.random applies.
  random: () => Math.random(),
}

/** The policy `options` ask for, the defaults where they leave a field out (or undefined). */
export function retryPolicy(options: Partial<RetryPolicy> = {}): RetryPolicy {
  const d = DEFAULT_RETRY_POLICY
  return {
    retries: options.retries ?? d.retries,
    retryDelay: options.retryDelay ?? d.retryDelay,
    maxRetryDelay: options.maxRetryDelay ?? d.maxRetryDelay,
    jitter: options.jitter ?? d.jitter,
    rateLimitWaits: options.rateLimitWaits ?? d.rateLimitWaits,
    random: options.random ?? d.random,
  }
}

/** Delay before try number `tryNumber` (1 for the first retry), in ms. */
export function backoffDelay(
  tryNumber: number,
  { retryDelay, maxRetryDelay, jitter, random }: Omit<RetryPolicy, 'retries' | 'rateLimitWaits'>,
): number {
  const base = Math.min(retryDelay * 2 ** (tryNumber - 1), maxRetryDelay)
  const spread = 1 - jitter + 2 * jitter * random()
  return Math.round(base * spread)
}

export interface Failure {
  /** What failed: a resolve error, an `ApiError` or an `ImageLoadError`. */
  reason: unknown
  /** Tries used since the last (re)start. */
  attempt: number
  /** Rate-limit waits since the last (re)start. */
  waits: number
  mode: SmartImageMode
  /** The kind of URL that failed; undefined when the first resolve failed. */
  source: SmartImageSource | undefined
  /** The proxy fallback has been loaded already: nothing is left to try. */
  usedProxyFallback: boolean
}

export type FailureStep =
  /**
   * Rate limited: hold the shared wait `delay` ms (0: join the one running), then ask the same
   * again, without using a try.
   */
  | { action: 'wait'; delay: number }
  /** Wait `delay` ms, then try the same kind of URL again. */
  | { action: 'retry'; delay: number }
  /** Load the proxy instead. */
  | { action: 'proxy' }
  /** Show the error state. */
  | { action: 'fail' }

/**
 * The rate limit `reason` met: an image's probed (or presumed) 429, a resolve refused with 429
 * or a `wait` code (`vocabulary.ts`); null for any other failure.
 */
export function rateLimitOf(reason: unknown): ImageRateLimit | null {
  if (reason instanceof ImageLoadError) return reason.rateLimit
  if (reason instanceof ApiError && reason.kind === 'http') {
    if (reason.status === 429 || retryOf(reason.code) === 'wait') {
      return { retryAfter: reason.retryAfter, seen: true }
    }
  }
  if (reason instanceof ResolveError && retryOf(reason.code) === 'wait') {
    return { retryAfter: null, seen: true }
  }
  return null
}

/**
 * The step after `failure`. A rate limit is waited out (the server's `Retry-After`, clamped)
 * without using a try and never falls back to the proxy. A permanent resolve error
 * (`not_found`, `access_denied`, an invalid key) fails at once: neither a retry nor the proxy
 * can change the answer.
 */
export function nextStep(failure: Failure, policy: RetryPolicy): FailureStep {
  const limit = rateLimitOf(failure.reason)
  if (limit && failure.waits < policy.rateLimitWaits) {
    const delay = limit.seen || limit.retryAfter !== null ? retryAfterDelay(limit.retryAfter) : 0
    return { action: 'wait', delay }
  }
  if (limit?.seen) return { action: 'fail' }
  if (failure.usedProxyFallback || isPermanentResolveFailure(failure.reason)) {
    return { action: 'fail' }
  }
  if (failure.attempt < policy.retries) {
    return { action: 'retry', delay: backoffDelay(failure.attempt + 1, policy) }
  }
  if (fallsBackToProxy(failure.mode, failure.source)) return { action: 'proxy' }
  return { action: 'fail' }
}

/**
 * How much later than the end of a shared wait one image goes: a random part of the wait again,
 * at most `maxRetryDelay`. The images a wait held back then come in over about as long as they
 * waited, as the server's budget refills, instead of all at once into a spent one.
 */
export function waitSpread(
  ms: number,
  { maxRetryDelay, random }: Pick<RetryPolicy, 'maxRetryDelay' | 'random'>,
): number {
  return Math.round(Math.min(ms, maxRetryDelay) * random())
}
