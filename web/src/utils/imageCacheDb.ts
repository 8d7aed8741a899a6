/**
 * The IndexedDB side of the URL cache: its schema, opening it without hanging, and the two
 * cursor walks that keep it small (stale entries through the `refresh_at` index, least recently
 * used ones through the `accessed_at` index). Failures reject; the cache decides what to do.
 */
import { wrap, type DBSchema, type IDBPDatabase } from 'idb'

import type { StoredEntry } from './imageCacheEntry'

export const STORE = 'urls'
// 2: entries keyed by (key, variant) `id`; a version-1 store (keyed by key) is dropped: a cache.
const DB_VERSION = 2

interface UrlCacheSchema extends DBSchema {
  urls: {
    /** `cacheId(key, variant)` */
    key: string
    value: StoredEntry
    indexes: { 'by-accessed': number; 'by-refresh': number }
  }
}

export type UrlDb = IDBPDatabase<UrlCacheSchema>

export interface OpenUrlDbOptions {
  /** Reject if opening takes longer (some browsers never answer in private mode). */
  timeoutMs: number
  /** Another tab wants a newer schema. */
  onVersionChange: () => void
  /** The browser closed the connection (storage cleared, disk error). */
  onClose: () => void
}

/** `idb`'s `openDB`, but on a given IndexedDB factory instead of the global one. */
function openOn(factory: IDBFactory, name: string, hooks: OpenUrlDbOptions): Promise<UrlDb> {
  const request = factory.open(name, DB_VERSION)
  request.addEventListener('upgradeneeded', () => {
    const db = request.result
    if (db.objectStoreNames.contains(STORE)) db.deleteObjectStore(STORE)
    const store = db.createObjectStore(STORE, { keyPath: 'id' })
    store.createIndex('by-accessed', 'accessed_at')
    store.createIndex('by-refresh', 'refresh_at')
  })
  const opening = wrap(request) as unknown as Promise<UrlDb>
  opening
    .then((db) => {
      db.addEventListener('versionchange', hooks.onVersionChange)
      db.addEventListener('close', hooks.onClose)
    })
    .catch(() => {})
  return opening
}

/**
 * Opens the cache's database, or rejects: when `open` throws (some browsers throw a
 * SecurityError in sandboxed frames), fails, or takes longer than `timeoutMs`.
 */
export async function openUrlDb(
  factory: IDBFactory,
  name: string,
  options: OpenUrlDbOptions,
): Promise<UrlDb> {
  const opening = openOn(factory, name, options)
  let timer: ReturnType<typeof setTimeout> | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error('IndexedDB open timed out')), options.timeoutMs)
  })
  try {
    return await Promise.race([opening, timeout])
  } catch (error) {
    // A late success after the timeout must not leak a connection.
    opening.then((db) => db.close()).catch(() => {})
    throw error
  } finally {
    clearTimeout(timer)
  }
}

/** Deletes the entries whose `refresh_at` is not after `nowSeconds`; returns how many went. */
export async function deleteStale(db: UrlDb, nowSeconds: number): Promise<number> {
  const tx = db.transaction(STORE, 'readwrite')
  let removed = 0
  // Ascending by `refresh_at`: stop at the first entry still usable, so O(stale entries).
  let cursor = await tx.store.index('by-refresh').openCursor()
  while (cursor && cursor.key <= nowSeconds) {
    await cursor.delete()
    removed++
    cursor = await cursor.continue()
  }
  await tx.done
  return removed
}

/**
 * Deletes least recently used entries until at most `maxEntries` remain, telling `onEvict` each
 * id that went; returns how many went.
 */
export async function trimToBound(
  db: UrlDb,
  maxEntries: number,
  onEvict: (id: string) => void,
): Promise<number> {
  const tx = db.transaction(STORE, 'readwrite')
  let excess = (await tx.store.count()) - maxEntries
  let removed = 0
  if (excess > 0) {
    let cursor = await tx.store.index('by-accessed').openCursor()
    while (cursor && excess > 0) {
      onEvict(cursor.primaryKey)
      await cursor.delete()
      excess--
      removed++
      cursor = await cursor.continue()
    }
  }
  await tx.done
  return removed
}
