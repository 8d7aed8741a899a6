/**
 * What a `<SmartImage>` does after a failure: try the same source again after a growing,
 * jittered delay, fall back to the proxy once the tries are used up, or give up. Pure: the
 * composable owns the state and the timers, this decides.
 */
import { fallsBackToProxy, type SmartImageMode, type SmartImageSource } from './imageDelivery'
import { isPermanentResolveFailure } from './resolver'

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
  /** @default Math.random */
  random: () => number
}

export const DEFAULT_RETRY_POLICY: Readonly<RetryPolicy> = {
  retries: 3,
  retryDelay: 500,
  maxRetryDelay: 10_000,
  jitter: 0.2,
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
    random: options.random ?? d.random,
  }
}

/** Delay before try number `tryNumber` (1 for the first retry), in ms. */
export function backoffDelay(
  tryNumber: number,
  { retryDelay, maxRetryDelay, jitter, random }: Omit<RetryPolicy, 'retries'>,
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
  mode: SmartImageMode
  /** The kind of URL that failed; undefined when the first resolve failed. */
  source: SmartImageSource | undefined
  /** The proxy fallback has been loaded already: nothing is left to try. */
  usedProxyFallback: boolean
}

export type FailureStep =
  /** Wait `delay` ms, then try the same kind of URL again. */
  | { action: 'retry'; delay: number }
  /** Load the proxy instead. */
  | { action: 'proxy' }
  /** Show the error state. */
  | { action: 'fail' }

/**
 * The step after `failure`. A permanent resolve error (`not_found`, `access_denied`, an invalid
 * key) fails at once: neither a retry nor the proxy can change the answer.
 */
export function nextStep(failure: Failure, policy: RetryPolicy): FailureStep {
  if (failure.usedProxyFallback || isPermanentResolveFailure(failure.reason)) {
    return { action: 'fail' }
  }
  if (failure.attempt < policy.retries) {
    return { action: 'retry', delay: backoffDelay(failure.attempt + 1, policy) }
  }
  if (fallsBackToProxy(failure.mode, failure.source)) return { action: 'proxy' }
  return { action: 'fail' }
}
