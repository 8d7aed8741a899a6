/**
 * Browser-side cache of resolved signed URLs, so a reload or a second tab shows images without
 * asking the backend again.
 *
 * - Persistent in IndexedDB (through `idb`), with a memory layer in front for repeated reads.
 * - An entry is served only while its `refresh_at` is ahead: the backend promises the URL stays
 *   valid well past that point, so a served URL is never about to die.
 * - Bounded: least recently used entries go first (default 5,000 entries). Access times are
 *   written at most once per `touchIntervalMs` per entry, not on every read.
 * - Swept on start: entries past `refresh_at` are removed through an index, costing O(stale).
 * - Fails soft: with no IndexedDB (private mode, disabled storage), a failed open, a quota error
 *   or another tab upgrading the database, it carries on in memory and never throws.
 *
 * This module puts the two layers together and owns the fail-soft switch; the entry rules are in
 * `imageCacheEntry.ts`, the memory layer in `memoryLru.ts`, the IndexedDB schema, opening and
 * cursor walks in `imageCacheDb.ts`.
 */
import {
  isStoredEntry,
  isUsable,
  publicView,
  toStoredEntry,
  touchDue,
  type CachedUrl,
  type StoredEntry,
} from './imageCacheEntry'
import { deleteStale, openUrlDb, STORE, trimToBound, type UrlDb } from './imageCacheDb'
import { MemoryLru } from './memoryLru'
import { defaultClock, type Clock } from './timers'

export { cacheId, type CachedUrl } from './imageCacheEntry'

export interface ImageCacheOptions {
  /**
   * IndexedDB database name.
   * @default 'image-url-cache'
   */
  dbName?: string
  /**
   * Most entries kept; the least recently used go first.
   * @default 5000
   */
  maxEntries?: number
  /**
   * Current time in epoch milliseconds.
   * @default Date.now
   */
  clock?: Clock
  /**
   * IndexedDB implementation; `null` keeps the cache in memory only.
   * @default globalThis.indexedDB
   */
  indexedDB?: IDBFactory | null
  /**
   * A read refreshes an entry's stored access time only if it is older than this.
   * @default 60_000
   */
  touchIntervalMs?: number
  /**
   * Give up on IndexedDB if opening takes longer (some browsers never answer in private mode).
   * @default 3000
   */
  openTimeoutMs?: number
  /** Called once when IndexedDB fails and the cache continues in memory. */
  onFallback?: (error: unknown) => void
}

/**
 * Entries are found by id: {@link cacheId}(key, variant), which is the key itself for the
 * original. A variant's URL is only ever served for that variant.
 */
export interface ImageCache {
  /** The entry of `id` if its `refresh_at` is still ahead. */
  get(id: string): Promise<CachedUrl | undefined>
  /** Usable entries for any of `ids`, by id, read in one transaction. */
  getMany(ids: readonly string[]): Promise<Map<string, CachedUrl>>
  set(entry: CachedUrl): Promise<void>
  /** Stores entries in one transaction, then evicts down to the bound. */
  setMany(entries: readonly CachedUrl[]): Promise<void>
  delete(id: string): Promise<void>
  clear(): Promise<void>
  /** Removes entries past `refresh_at` and trims to the bound; returns how many went. */
  sweep(): Promise<number>
  /** Number of stored entries (stale ones included until swept). */
  size(): Promise<number>
  close(): void
  /** Settles once the database is open (or the cache fell back to memory) and swept. */
  readonly ready: Promise<void>
  /** True while entries are persisted in IndexedDB; false once in memory only. */
  readonly persistent: boolean
}

class IdbImageCache implements ImageCache {
  readonly ready: Promise<void>
  private db: UrlDb | null = null
  private readonly memory: MemoryLru
  private readonly clock: Clock
  private readonly maxEntries: number
  private readonly touchIntervalMs: number
  private readonly onFallback?: (error: unknown) => void
  private fellBack = false

  constructor(options: ImageCacheOptions) {
    const {
      dbName = 'image-url-cache',
      maxEntries = 5000,
      clock = defaultClock,
      touchIntervalMs = 60_000,
      openTimeoutMs = 3000,
      onFallback,
    } = options
    const factory = options.indexedDB === undefined ? globalThis.indexedDB : options.indexedDB
    this.maxEntries = Math.max(1, Math.floor(maxEntries))
    this.memory = new MemoryLru(this.maxEntries)
    this.clock = clock
    this.touchIntervalMs = touchIntervalMs
    this.onFallback = onFallback
    this.ready = this.open(factory ?? null, dbName, openTimeoutMs)
  }

  get persistent(): boolean {
    return this.db !== null
  }

  private async open(factory: IDBFactory | null, name: string, timeoutMs: number): Promise<void> {
    if (!factory) {
      this.fallBack(new Error('IndexedDB is not available'))
      return
    }
    try {
      this.db = await openUrlDb(factory, name, {
        timeoutMs,
        // Another tab wants a newer schema: let it have the database, keep going in memory.
        onVersionChange: () => this.fallBack(new Error('IndexedDB upgraded by another tab')),
        onClose: () => this.fallBack(new Error('IndexedDB connection closed by the browser')),
      })
    } catch (error) {
      this.fallBack(error)
      return
    }
    await this.sweep()
  }

  private fallBack(error: unknown): void {
    const db = this.db
    this.db = null
    try {
      db?.close()
    } catch {
      // Already closed.
    }
    if (!this.fellBack) {
      this.fellBack = true
      this.onFallback?.(error)
    }
  }

  /** Runs an IndexedDB operation; any failure switches the cache to memory for good. */
  private async withDb<T>(operation: (db: UrlDb) => Promise<T>, fallback: T): Promise<T> {
    await this.ready
    const db = this.db
    if (!db) return fallback
    try {
      return await operation(db)
    } catch (error) {
      this.fallBack(error)
      return fallback
    }
  }

  async get(id: string): Promise<CachedUrl | undefined> {
    return (await this.getMany([id])).get(id)
  }

  async getMany(ids: readonly string[]): Promise<Map<string, CachedUrl>> {
    // The memory layer answers before IndexedDB is open: entries seeded from the page (the
    // embedded first page) are served at once, not after the database opens.
    const now = this.clock()
    const found = new Map<string, CachedUrl>()
    const missing: string[] = []
    const touches: StoredEntry[] = []
    const staleInMemory: string[] = []

    for (const id of new Set(ids)) {
      const entry = this.memory.peek(id)
      if (!entry) {
        missing.push(id)
      } else if (isUsable(entry, now)) {
        found.set(id, publicView(entry))
        if (touchDue(entry, now, this.touchIntervalMs)) {
          entry.accessed_at = now
          touches.push(entry)
        }
        this.memory.bump(entry)
      } else {
        this.memory.delete(id)
        staleInMemory.push(id)
      }
    }
    if (!missing.length && !touches.length && !staleInMemory.length) return found

    await this.withDb(async (db) => {
      const tx = db.transaction(STORE, 'readwrite')
      const store = tx.objectStore(STORE)
      const writes: Promise<unknown>[] = []
      const reads = missing.map(async (id) => {
        const entry = await store.get(id)
        if (!isStoredEntry(entry)) {
          if (entry !== undefined) writes.push(store.delete(id))
          return
        }
        if (!isUsable(entry, now)) {
          writes.push(store.delete(id))
          return
        }
        const fresh = { ...entry, accessed_at: now }
        if (touchDue(entry, now, this.touchIntervalMs)) writes.push(store.put(fresh))
        this.memory.set(fresh)
        found.set(id, publicView(fresh))
      })
      for (const entry of touches) writes.push(store.put({ ...entry }))
      for (const id of staleInMemory) writes.push(store.delete(id))
      await Promise.all(reads)
      await Promise.all([...writes, tx.done])
    }, undefined)
    return found
  }

  async set(entry: CachedUrl): Promise<void> {
    await this.setMany([entry])
  }

  async setMany(entries: readonly CachedUrl[]): Promise<void> {
    // Memory first, at once (before IndexedDB is open): a seeded entry is served right away.
    const now = this.clock()
    const fresh = entries.filter((e) => isUsable(e, now)).map((e) => toStoredEntry(e, now))
    if (!fresh.length) return
    for (const entry of fresh) this.memory.set(entry)
    await this.withDb(async (db) => {
      const tx = db.transaction(STORE, 'readwrite')
      await Promise.all([...fresh.map((entry) => tx.store.put(entry)), tx.done])
      await this.trim(db)
    }, undefined)
  }

  /** Deletes least recently used entries until at most `maxEntries` remain. */
  private trim(db: UrlDb): Promise<number> {
    return trimToBound(db, this.maxEntries, (id) => this.memory.delete(id))
  }

  async delete(id: string): Promise<void> {
    this.memory.delete(id)
    await this.withDb((db) => db.delete(STORE, id), undefined)
  }

  async clear(): Promise<void> {
    this.memory.clear()
    await this.withDb((db) => db.clear(STORE), undefined)
  }

  async sweep(): Promise<number> {
    const now = this.clock()
    const inMemory = this.memory.sweep(now)
    const db = this.db
    if (!db) return inMemory
    try {
      return (await deleteStale(db, now / 1000)) + (await this.trim(db))
    } catch (error) {
      this.fallBack(error)
      return inMemory
    }
  }

  async size(): Promise<number> {
    await this.ready
    return this.withDb((db) => db.count(STORE), this.memory.size)
  }

  close(): void {
    const db = this.db
    this.db = null
    db?.close()
  }
}

/**
 * Creates the cache at once; it opens IndexedDB in the background and every method waits for
 * that, so callers never deal with an "opening" state. Await `ready` (or use
 * {@link openImageCache}) to know whether it ended up persistent.
 */
export function createImageCache(options: ImageCacheOptions = {}): ImageCache {
  return new IdbImageCache(options)
}

/** Creates the cache and waits until it is open and swept. */
export async function openImageCache(options: ImageCacheOptions = {}): Promise<ImageCache> {
  const cache = createImageCache(options)
  await cache.ready
  return cache
}
