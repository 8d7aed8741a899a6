/**
 * The worker's image cache: bytes in the Cache API under a synthetic URL per identity (key,
 * etag, variant), sizes and last use in IndexedDB (`db.ts`), the URL→identity mappings in both
 * IndexedDB and a bounded in-memory map. Bounded by entries and bytes, least recently used
 * evicted first (`bounds.ts`); the bytes of an older etag of a key's variant go as soon as a
 * newer one is stored.
 */
import { DEFAULT_BOUNDS, evictions, fits, MAX_URLS, type CacheBounds } from './bounds'
import * as db from './db'
import { CACHE_KEY_PATH, cacheId, cacheUrl, type ImageIdentity, type LearnedUrl } from './identity'
import { CACHE_NAME } from './names'


const TOUCH_DELAY_MS = 250
const TRIM_DELAY_MS = 500

export interface ImageStoreOptions {
  caches: CacheStorage
  /** The page's origin: relative URLs and the synthetic cache URLs are on it. */
  origin: string
  openDb?: (onBlocking: () => void) => Promise<db.WorkerDb>
  bounds?: CacheBounds
  maxUrls?: number
  /** Milliseconds since the epoch. */
  now?: () => number
}

export class ImageStore {
  readonly bounds: CacheBounds
  private readonly known = new Map<string, db.UrlRecord>()
  private readonly learning = new Set<Promise<unknown>>()
  private readonly touched = new Set<string>()
  private touching: Promise<void> | null = null
  private trimming: Promise<void> | null = null
  private dbPromise: Promise<db.WorkerDb> | null = null
  private closed = false
  private readonly maxUrls: number
  private readonly now: () => number

  constructor(private readonly options: ImageStoreOptions) {
    this.bounds = options.bounds ?? DEFAULT_BOUNDS
    this.maxUrls = options.maxUrls ?? MAX_URLS
    this.now = options.now ?? Date.now
  }

  private db(): Promise<db.WorkerDb> {
    if (this.closed) return Promise.reject(new Error('the image cache was turned off'))
    this.dbPromise ??= (this.options.openDb ?? db.openWorkerDb)(() => this.closeDb())
    return this.dbPromise
  }

  /**
   * The page deletes the database (the worker is turned off): close it, and never open it again
   * in this worker, which would create it anew; image loads then go to the network.
   */
  private closeDb(): void {
    const opened = this.dbPromise
    this.closed = true
    this.dbPromise = null
    this.known.clear()
    void opened?.then((database) => database.close()).catch(() => {})
  }

  private memo(record: db.UrlRecord): void {
    this.known.delete(record.url)
    this.known.set(record.url, record)
    for (const url of this.known.keys()) {
      if (this.known.size <= this.maxUrls) break
      this.known.delete(url)
    }
  }

  /**
   * Remembers what each URL serves. Takes a promise too (a response body still being read):
   * lookups made meanwhile wait for it, so an image asked for right after its JSON arrived
   * is never taken for an unknown URL.
   */
  learn(learned: readonly LearnedUrl[] | Promise<readonly LearnedUrl[]>): Promise<void> {
    const work = Promise.resolve(learned).then(async (found) => {
      if (!found.length) return
      const records = await db.rememberUrls(await this.db(), found)
      records.forEach((record) => this.memo(record))
    })
    this.learning.add(work)
    const done = () => this.learning.delete(work)
    work.then(done, done)
    return work
  }

  /** What `url` serves, if the API handed it out (and its mapping was not trimmed). */
  async identityOf(url: string): Promise<db.UrlRecord | undefined> {
    if (this.learning.size) await Promise.allSettled([...this.learning])
    const known = this.known.get(url)
    if (known) return known
    const record = await db.urlRecord(await this.db(), url)
    if (record) this.memo(record)
    return record
  }

  private syntheticUrl(identity: ImageIdentity): string {
    return cacheUrl(identity, this.options.origin)
  }

  /** The cached bytes of `identity`: only ever those of the same key, etag and variant. */
  async match(identity: ImageIdentity): Promise<Response | undefined> {
    const cache = await this.options.caches.open(CACHE_NAME)
    const hit = await cache.match(this.syntheticUrl(identity))
    if (hit) this.touched.add(cacheId(identity))
    return hit
  }

  /**
   * Stores a response to a request for `record`'s URL. Only 200s, and opaque responses (a
   * cross-origin store's, whose status cannot be read) while the URL is unexpired; an opaque
   * response is charged the object's size from the API. Returns whether it was stored.
   */
  async put(record: db.UrlRecord, response: Response): Promise<boolean> {
    const opaque = response.type === 'opaque'
    if (opaque ? record.expires_at * 1000 <= this.now() : response.status !== 200) return false
    let stored = response
    let bytes = record.size
    if (!opaque) {
      const body = await response.blob()
      bytes = body.size
      stored = new Response(body, { status: 200, statusText: response.statusText, headers: response.headers })
    }
    if (!fits(bytes, this.bounds)) return false
    const id = cacheId(record)
    const entry = { id, key: record.key, etag: record.etag, variant: record.variant, bytes, accessed_at: this.now() }
    // Recorded before the bytes are written: a trim never finds bytes it has no record of but
    // those a failed put left behind.
    const stale = await db.recordEntry(await this.db(), entry)
    const cache = await this.options.caches.open(CACHE_NAME)
    await cache.put(this.syntheticUrl(record), stored)
    await Promise.all(stale.map((old) => cache.delete(`${this.options.origin}${CACHE_KEY_PATH}${old}`)))
    return true
  }

  /** Drops every cached variant of `keys` (the page asked to re-validate them: a load failed). */
  async forgetKeys(keys: readonly string[]): Promise<number> {
    if (!keys.length) return 0
    const database = await this.db()
    const ids = await db.entriesOfKeys(database, keys)
    await this.deleteIds(database, ids)
    return ids.length
  }

  private async deleteIds(database: db.WorkerDb, ids: readonly string[]): Promise<void> {
    const cache = await this.options.caches.open(CACHE_NAME)
    await Promise.all(ids.map((id) => cache.delete(`${this.options.origin}${CACHE_KEY_PATH}${id}`)))
    await db.deleteEntries(database, ids)
  }

  /** Evicts least recently used entries beyond the bounds and dead URL mappings; returns ids evicted. */
  async trim(): Promise<string[]> {
    const database = await this.db()
    await this.flushTouches()
    const entries = await db.entriesOldestFirst(database)
    const evicted = evictions(entries, this.bounds)
    await this.deleteIds(database, evicted)
    // Bytes without a record (a put that failed half-way) would never be evicted. The ids
    // are read after the keys: bytes are written only after their record.
    const cache = await this.options.caches.open(CACHE_NAME)
    const requests = await cache.keys()
    const live = new Set(await db.entryIds(database))
    const prefix = `${this.options.origin}${CACHE_KEY_PATH}`
    for (const request of requests) {
      if (!live.has(request.url.slice(prefix.length))) await cache.delete(request)
    }
    await db.trimUrls(database, Math.floor(this.now() / 1000), this.maxUrls)
    return evicted
  }

  /** Entries and bytes held now. */
  async usage(): Promise<{ entries: number; bytes: number }> {
    const entries = await db.entriesOldestFirst(await this.db())
    return { entries: entries.length, bytes: entries.reduce((sum, e) => sum + e.bytes, 0) }
  }

  private async flushTouches(): Promise<void> {
    if (!this.touched.size) return
    const ids = [...this.touched]
    this.touched.clear()
    await db.touchEntries(await this.db(), ids, this.now())
  }

  /** Writes the hits of the last moment in one transaction; pass to `waitUntil`. Never rejects. */
  touchSoon(): Promise<void> {
    this.touching ??= delay(TOUCH_DELAY_MS)
      .then(() => this.flushTouches())
      .catch(() => undefined)
      .finally(() => (this.touching = null))
    return this.touching
  }

  /** One trim after a burst of stores; pass to `waitUntil`. Never rejects. */
  trimSoon(): Promise<void> {
    this.trimming ??= delay(TRIM_DELAY_MS)
      .then(() => this.trim())
      .then(
        () => undefined,
        () => undefined,
      )
      .finally(() => (this.trimming = null))
    return this.trimming
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}
