/**
 * Turns image keys into signed URLs with as few round trips as possible.
 *
 * Every key asked for during one task (one tick of the event loop: a render, one
 * IntersectionObserver callback, the microtasks after them) is collected, looked up in the
 * {@link ImageCache} in one transaction, and the misses go to `POST /api/v1/urls` in batches of
 * at most `maxBatch` keys. A key already on its way is not asked again: its callers share one
 * promise. Errors are per key: a `not_found` for one key rejects only the promises for that key;
 * a failed request rejects only the keys it carried. A request refused with 429 fails none of
 * its keys: the resolver waits `Retry-After` and sends the same keys again, and every batch,
 * the ones queued meanwhile included, waits for that one shared time ({@link RateLimitGate}).
 */
import { ApiError } from '@/api/client'
import { resolveUrls } from '@/api/images'
import type { BatchResolveResponse, ErrorCode } from '@/api/types'
import { retryOf } from '@/api/vocabulary'

import type { CachedUrl, ImageCache } from './imageCache'
import { toCachedUrl } from './imageCacheEntry'
import { isRateLimited, RateLimitGate, retryAfterDelay } from './rateLimit'
import { defaultClock, defaultTimers, type Clock, type Timers } from './timers'

/**
 * Why one key has no URL: the backend's code (e.g. `not_found`), or `missing` when the answer
 * left the key out.
 */
export type ResolveErrorCode = ErrorCode | 'missing'

/** A key the backend refused or could not find. */
export class ResolveError extends Error {
  override readonly name = 'ResolveError'

  constructor(
    readonly key: string,
    readonly code: ResolveErrorCode,
    message: string,
  ) {
    super(message)
  }

  /** Asking again cannot change the answer (`vocabulary.ts`); unknown codes might. */
  get permanent(): boolean {
    return retryOf(this.code) === 'permanent'
  }
}

/**
 * True when asking again cannot help: a permanent code (bad key, missing object, storage refusing
 * access), or a request the server refused with a 4xx other than 408/429.
 */
export function isPermanentResolveFailure(error: unknown): boolean {
  if (error instanceof ResolveError) return error.permanent
  if (error instanceof ApiError && error.kind === 'http') {
    const retry = retryOf(error.code)
    return retry ? retry === 'permanent' : !error.transient
  }
  return false
}

export type FetchBatch = (keys: string[], refresh: boolean) => Promise<BatchResolveResponse>

export interface ResolveOptions {
  /** Ask the backend to re-validate (after the URL failed to load). Skips the local cache. */
  refresh?: boolean
  /** Skip the local cache without asking the backend to re-validate (early refresh). */
  bypassCache?: boolean
}

export interface ResolverOptions {
  /**
   * Sends one batch to the backend.
   * @default POST /api/v1/urls
   */
  fetchBatch?: FetchBatch
  /** Local cache consulted before the network and filled from its answers. */
  cache?: ImageCache | null
  /**
   * Most keys in one request (the server accepts 500).
   * @default 100
   */
  maxBatch?: number
  /**
   * Runs the flush once the current tick is over.
   * @default a zero-delay timer from `timers`
   */
  schedule?: (flush: () => void) => void
  /**
   * Sends of one batch while the server answers 429: after the last one its keys fail with
   * that 429.
   * @default 5
   */
  rateLimitTries?: number
  /**
   * The shared "not before" time of the JSON API's budget.
   * @default a gate of its own over `clock` and `timers`
   */
  gate?: RateLimitGate
  timers?: Timers
  clock?: Clock
}

interface Deferred {
  promise: Promise<CachedUrl>
  resolve: (value: CachedUrl) => void
  reject: (reason: unknown) => void
}

function defer(): Deferred {
  let resolve!: Deferred['resolve']
  let reject!: Deferred['reject']
  const promise = new Promise<CachedUrl>((res, rej) => {
    resolve = res
    reject = rej
  })
  // Callers may drop the promise (an image scrolled away); never report it as unhandled.
  promise.catch(() => {})
  return { promise, resolve, reject }
}

type Lane = 'normal' | 'bypass' | 'refresh'

export class Resolver {
  private readonly fetchBatch: FetchBatch
  private readonly cache: ImageCache | null
  private readonly maxBatch: number
  private readonly schedule: (flush: () => void) => void
  private readonly rateLimitTries: number
  private readonly gate: RateLimitGate
  /** Keys asked for this tick, per lane, each with the promise its callers got. */
  private readonly queued: Record<Lane, Map<string, Deferred>> = {
    normal: new Map(),
    bypass: new Map(),
    refresh: new Map(),
  }
  /** Keys between flush and answer, per lane. */
  private readonly inFlight: Record<Lane, Map<string, Deferred>> = {
    normal: new Map(),
    bypass: new Map(),
    refresh: new Map(),
  }
  private flushScheduled = false

  constructor(options: ResolverOptions = {}) {
    const timers = options.timers ?? defaultTimers
    this.fetchBatch = options.fetchBatch ?? ((keys, refresh) => resolveUrls(keys, refresh))
    this.cache = options.cache ?? null
    this.maxBatch = Math.max(1, Math.min(options.maxBatch ?? 100, 500))
    this.schedule = options.schedule ?? ((flush) => void timers.setTimeout(flush, 0))
    this.rateLimitTries = Math.max(1, options.rateLimitTries ?? 5)
    this.gate = options.gate ?? new RateLimitGate(options.clock ?? defaultClock, timers)
  }

  /** The signed URL for `key`, from the local cache or the next batch. */
  resolve(key: string, options: ResolveOptions = {}): Promise<CachedUrl> {
    const lane: Lane = options.refresh ? 'refresh' : options.bypassCache ? 'bypass' : 'normal'
    // A forced refresh already on its way answers every kind of question about that key.
    const shared =
      this.queued.refresh.get(key) ??
      this.inFlight.refresh.get(key) ??
      (lane === 'refresh' ? undefined : this.queued[lane].get(key) ?? this.inFlight[lane].get(key))
    if (shared) return shared.promise

    const deferred = defer()
    this.queued[lane].set(key, deferred)
    if (!this.flushScheduled) {
      this.flushScheduled = true
      this.schedule(() => void this.flush())
    }
    return deferred.promise
  }

  /** Forgets the cached URL of `key` (it failed to load). */
  async invalidate(key: string): Promise<void> {
    await this.cache?.delete(key)
  }

  /** Sends everything queued so far; normally called by the scheduler. */
  async flush(): Promise<void> {
    this.flushScheduled = false
    const batches: Promise<void>[] = []
    for (const lane of ['refresh', 'bypass', 'normal'] as const) {
      const queued = this.queued[lane]
      if (!queued.size) continue
      this.queued[lane] = new Map()
      for (const [key, deferred] of queued) this.inFlight[lane].set(key, deferred)
      batches.push(this.dispatch(lane, queued))
    }
    await Promise.all(batches)
  }

  private async dispatch(lane: Lane, queued: Map<string, Deferred>): Promise<void> {
    let keys = [...queued.keys()]
    if (lane === 'normal' && this.cache) {
      let hits = new Map<string, CachedUrl>()
      try {
        hits = await this.cache.getMany(keys)
      } catch {
        // The cache fails soft already; if it still throws, go to the network.
      }
      for (const [key, entry] of hits) this.settle(lane, key, (d) => d.resolve(entry))
      keys = keys.filter((key) => !hits.has(key))
    }
    const requests: Promise<void>[] = []
    for (let start = 0; start < keys.length; start += this.maxBatch) {
      requests.push(this.request(lane, keys.slice(start, start + this.maxBatch)))
    }
    await Promise.all(requests)
  }

  private async request(lane: Lane, keys: string[]): Promise<void> {
    let response: BatchResolveResponse
    for (let tries = 1; ; tries++) {
      await this.gate.wait()
      try {
        response = await this.fetchBatch(keys, lane === 'refresh')
        break
      } catch (error) {
        if (isRateLimited(error) && tries < this.rateLimitTries) {
          this.gate.hold(retryAfterDelay(error.retryAfter))
          continue
        }
        for (const key of keys) this.settle(lane, key, (d) => d.reject(error))
        return
      }
    }
    const items = (response.items ?? []).map(toCachedUrl)
    if (this.cache && items.length) {
      try {
        await this.cache.setMany(items)
      } catch {
        // Not caching is fine; the URLs are still good.
      }
    }
    const asked = new Set(keys)
    for (const item of items) {
      if (asked.delete(item.key)) this.settle(lane, item.key, (d) => d.resolve(item))
    }
    for (const failure of response.errors ?? []) {
      if (typeof failure.key !== 'string' || !asked.delete(failure.key)) continue
      const error = new ResolveError(failure.key, failure.code, failure.message)
      this.settle(lane, failure.key, (d) => d.reject(error))
    }
    for (const key of asked) {
      const error = new ResolveError(key, 'missing', 'The server did not answer for this key')
      this.settle(lane, key, (d) => d.reject(error))
    }
  }

  private settle(lane: Lane, key: string, action: (deferred: Deferred) => void): void {
    const deferred = this.inFlight[lane].get(key)
    if (!deferred) return
    this.inFlight[lane].delete(key)
    action(deferred)
  }
}
