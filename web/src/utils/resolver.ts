/**
 * Turns image keys into signed URLs (of a variant: `variants.ts`) with as few round trips as
 * possible.
 *
 * Every (key, variant) asked for during one task (one tick of the event loop: a render, one
 * IntersectionObserver callback, the microtasks after them) is collected, looked up in the
 * {@link ImageCache} in one transaction, and the misses go to `POST /api/v1/urls`, one request
 * per variant (N keys at one width are one request) of at most `maxBatch` keys. A cached entry
 * of a somewhat wider variant of the same format stands in for the asked one (`acceptableTags`:
 * the first page's 480w URLs serve 256w cells), never a narrower one. A key already on its way is not asked again: its callers share one
 * promise. Errors are per key: a `not_found` for one key rejects only the promises for that key;
 * a failed request rejects only the keys it carried. A request refused with 429 fails none of
 * its keys: the resolver waits `Retry-After` and sends the same keys again, and every batch,
 * the ones queued meanwhile included, waits for that one shared time ({@link RateLimitGate}).
 */
import { resolveUrls } from '@/api/images'
import type { BatchResolveResponse } from '@/api/types'

import type { CachedUrl, ImageCache } from './imageCache'
import { cacheId, toCachedUrl } from './imageCacheEntry'
import { isRateLimited, RateLimitGate, retryAfterDelay } from './rateLimit'
import { ResolveError } from './resolveError'
import { defaultClock, defaultTimers, type Clock, type Timers } from './timers'
import { acceptableTags, ORIGINAL, variantSettings, variantTag, type VariantSpec } from './variants'

export { isPermanentResolveFailure, ResolveError, type ResolveErrorCode } from './resolveError'

export type FetchBatch = (
  keys: string[],
  refresh: boolean,
  variant: VariantSpec,
) => Promise<BatchResolveResponse>

export interface ResolveOptions {
  /** Ask the backend to re-validate (after the URL failed to load). Skips the local cache. */
  refresh?: boolean
  /** Skip the local cache without asking the backend to re-validate (early refresh). */
  bypassCache?: boolean
  /**
   * The variant whose URL is wanted.
   * @default the original
   */
  variant?: VariantSpec
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
  /**
   * The variant ladder, for which cached wider variants may stand in.
   * @default the page's (`variantSettings.ladder`)
   */
  ladder?: () => readonly number[]
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

/** One (key, variant) asked for, with the promise its callers got. */
interface Pending {
  key: string
  variant: VariantSpec
  deferred: Deferred
}

type Lane = 'normal' | 'bypass' | 'refresh'

export class Resolver {
  private readonly fetchBatch: FetchBatch
  private readonly cache: ImageCache | null
  private readonly maxBatch: number
  private readonly schedule: (flush: () => void) => void
  private readonly rateLimitTries: number
  private readonly gate: RateLimitGate
  private readonly ladder: () => readonly number[]
  /** (key, variant) ids asked for this tick, per lane. */
  private readonly queued: Record<Lane, Map<string, Pending>> = {
    normal: new Map(),
    bypass: new Map(),
    refresh: new Map(),
  }
  /** Ids between flush and answer, per lane. */
  private readonly inFlight: Record<Lane, Map<string, Pending>> = {
    normal: new Map(),
    bypass: new Map(),
    refresh: new Map(),
  }
  private flushScheduled = false

  constructor(options: ResolverOptions = {}) {
    const timers = options.timers ?? defaultTimers
    this.fetchBatch =
      options.fetchBatch ?? ((keys, refresh, variant) => resolveUrls(keys, refresh, variant))
    this.cache = options.cache ?? null
    this.maxBatch = Math.max(1, Math.min(options.maxBatch ?? 100, 500))
    this.schedule = options.schedule ?? ((flush) => void timers.setTimeout(flush, 0))
    this.rateLimitTries = Math.max(1, options.rateLimitTries ?? 5)
    this.gate = options.gate ?? new RateLimitGate(options.clock ?? defaultClock, timers)
    this.ladder = options.ladder ?? (() => variantSettings.ladder)
  }

  /** The signed URL of `key` (of `options.variant`), from the local cache or the next batch. */
  resolve(key: string, options: ResolveOptions = {}): Promise<CachedUrl> {
    const lane: Lane = options.refresh ? 'refresh' : options.bypassCache ? 'bypass' : 'normal'
    const variant = options.variant ?? ORIGINAL
    const id = cacheId(key, variantTag(variant))
    // A forced refresh already on its way answers every kind of question about that key.
    const shared =
      this.queued.refresh.get(id) ??
      this.inFlight.refresh.get(id) ??
      (lane === 'refresh' ? undefined : this.queued[lane].get(id) ?? this.inFlight[lane].get(id))
    if (shared) return shared.deferred.promise

    const deferred = defer()
    this.queued[lane].set(id, { key, variant, deferred })
    if (!this.flushScheduled) {
      this.flushScheduled = true
      this.schedule(() => void this.flush())
    }
    return deferred.promise
  }

  /**
   * Puts URLs the page already has (the first page embedded in index.html) into the cache, so
   * resolving them costs no request. Entries name their variant (`CachedUrl.variant`).
   */
  seed(entries: readonly CachedUrl[]): void {
    if (entries.length) this.cache?.setMany(entries).catch(() => {})
  }

  /** Forgets the cached URL of `key` at `variant` (it failed to load). */
  async invalidate(key: string, variant: VariantSpec = ORIGINAL): Promise<void> {
    await this.cache?.delete(cacheId(key, variantTag(variant)))
  }

  /** Sends everything queued so far; normally called by the scheduler. */
  async flush(): Promise<void> {
    this.flushScheduled = false
    const batches: Promise<void>[] = []
    for (const lane of ['refresh', 'bypass', 'normal'] as const) {
      const queued = this.queued[lane]
      if (!queued.size) continue
      this.queued[lane] = new Map()
      for (const [id, pending] of queued) this.inFlight[lane].set(id, pending)
      batches.push(this.dispatch(lane, queued))
    }
    await Promise.all(batches)
  }

  /** Cache hits (the asked variant, else an acceptable wider one), for the normal lane. */
  private async fromCache(queued: Map<string, Pending>): Promise<Map<string, CachedUrl>> {
    const candidates = new Map<string, string[]>()
    for (const [id, { key, variant }] of queued) {
      candidates.set(
        id,
        acceptableTags(variant, this.ladder()).map((tag) => cacheId(key, tag)),
      )
    }
    let found = new Map<string, CachedUrl>()
    try {
      found = await this.cache!.getMany([...candidates.values()].flat())
    } catch {
      // The cache fails soft already; if it still throws, go to the network.
    }
    const hits = new Map<string, CachedUrl>()
    for (const [id, ids] of candidates) {
      const hit = ids.map((candidate) => found.get(candidate)).find(Boolean)
      if (hit) hits.set(id, hit)
    }
    return hits
  }

  private async dispatch(lane: Lane, queued: Map<string, Pending>): Promise<void> {
    const misses = new Map(queued)
    if (lane === 'normal' && this.cache) {
      for (const [id, entry] of await this.fromCache(queued)) {
        misses.delete(id)
        this.settle(lane, id, (d) => d.resolve(entry))
      }
    }
    // One request per variant (and per `maxBatch` keys): the backend answers one width at once.
    const byVariant = new Map<string, Pending[]>()
    for (const pending of misses.values()) {
      const tag = variantTag(pending.variant)
      byVariant.set(tag, [...(byVariant.get(tag) ?? []), pending])
    }
    const requests: Promise<void>[] = []
    for (const group of byVariant.values()) {
      for (let start = 0; start < group.length; start += this.maxBatch) {
        requests.push(this.request(lane, group.slice(start, start + this.maxBatch)))
      }
    }
    await Promise.all(requests)
  }

  private async request(lane: Lane, group: Pending[]): Promise<void> {
    const variant = group[0]!.variant
    const tag = variantTag(variant)
    const keys = group.map((pending) => pending.key)
    const idOf = (key: string) => cacheId(key, tag)
    let response: BatchResolveResponse
    for (let tries = 1; ; tries++) {
      await this.gate.wait()
      try {
        response = await this.fetchBatch(keys, lane === 'refresh', variant)
        break
      } catch (error) {
        if (isRateLimited(error) && tries < this.rateLimitTries) {
          this.gate.hold(retryAfterDelay(error.retryAfter))
          continue
        }
        for (const key of keys) this.settle(lane, idOf(key), (d) => d.reject(error))
        return
      }
    }
    const items = (response.items ?? []).map((item) => toCachedUrl(item, tag))
    if (this.cache && items.length) {
      try {
        await this.cache.setMany(items)
      } catch {
        // Not caching is fine; the URLs are still good.
      }
    }
    const asked = new Set(keys)
    for (const item of items) {
      if (asked.delete(item.key)) this.settle(lane, idOf(item.key), (d) => d.resolve(item))
    }
    for (const failure of response.errors ?? []) {
      if (typeof failure.key !== 'string' || !asked.delete(failure.key)) continue
      const error = new ResolveError(failure.key, failure.code, failure.message)
      this.settle(lane, idOf(failure.key), (d) => d.reject(error))
    }
    for (const key of asked) {
      const error = new ResolveError(key, 'missing', 'The server did not answer for this key')
      this.settle(lane, idOf(key), (d) => d.reject(error))
    }
  }

  private settle(lane: Lane, id: string, action: (deferred: Deferred) => void): void {
    const pending = this.inFlight[lane].get(id)
    if (!pending) return
    this.inFlight[lane].delete(id)
    action(pending.deferred)
  }
}
