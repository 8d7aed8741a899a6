/**
 * The worker's IndexedDB: which identity each handed-out URL serves (`urls`), and the size and
 * last use of each cached image (`entries`, whose bytes live in the Cache API). Persisted
 * because the browser stops an idle worker at will, and the page reuses URLs from its own
 * IndexedDB cache long after the JSON that carried them went by.
 */
import { openDB, type DBSchema, type IDBPDatabase } from 'idb'

import type { ImageIdentity, LearnedUrl } from './identity'
import { DB_NAME } from './names'

const DB_VERSION = 1

export interface UrlRecord {
  readonly url: string
  readonly key: string
  readonly etag: string
  readonly variant: string
  readonly size: number
  readonly expires_at: number
  /** The same URL was seen before with another etag: the HTTP cache may hold the old bytes. */
  readonly changed: boolean
}

export interface EntryRecord {
  readonly id: string
  readonly key: string
  readonly etag: string
  readonly variant: string
  readonly bytes: number
  accessed_at: number
}

interface WorkerSchema extends DBSchema {
  urls: { key: string; value: UrlRecord; indexes: { 'by-expires': number } }
  entries: { key: string; value: EntryRecord; indexes: { 'by-accessed': number; 'by-key': string } }
}

export type WorkerDb = IDBPDatabase<WorkerSchema>

/** Opens the database; `onBlocking` when another context wants it deleted (the page turning the worker off). */
export function openWorkerDb(onBlocking: () => void = () => {}): Promise<WorkerDb> {
  return openDB<WorkerSchema>(DB_NAME, DB_VERSION, {
    blocking: onBlocking,
    upgrade(db) {
      db.createObjectStore('urls', { keyPath: 'url' }).createIndex('by-expires', 'expires_at')
      const entries = db.createObjectStore('entries', { keyPath: 'id' })
      entries.createIndex('by-accessed', 'accessed_at')
      entries.createIndex('by-key', 'key')
    },
  })
}

export function identityOfRecord(record: UrlRecord): ImageIdentity {
  return { key: record.key, etag: record.etag, variant: record.variant, size: record.size }
}

/** Remembers what each URL serves; a URL seen again with another etag is marked `changed`. */
export async function rememberUrls(db: WorkerDb, learned: readonly LearnedUrl[]): Promise<UrlRecord[]> {
  const tx = db.transaction('urls', 'readwrite')
  const records = await Promise.all(
    learned.map(async ({ url, identity, expiresAt }) => {
      const before = await tx.store.get(url)
      const record: UrlRecord = {
        url,
        ...identity,
        expires_at: expiresAt,
        changed: (before?.changed ?? false) || (before !== undefined && before.etag !== identity.etag),
      }
      await tx.store.put(record)
      return record
    }),
  )
  await tx.done
  return records
}

export function urlRecord(db: WorkerDb, url: string): Promise<UrlRecord | undefined> {
  return db.get('urls', url)
}

/**
 * Drops mappings of URLs dead before `nowSeconds`, then the soonest-dying ones beyond
 * `maxUrls`; returns how many went.
 */
export async function trimUrls(db: WorkerDb, nowSeconds: number, maxUrls: number): Promise<number> {
  const tx = db.transaction('urls', 'readwrite')
  let excess = (await tx.store.count()) - maxUrls
  let removed = 0
  let cursor = await tx.store.index('by-expires').openCursor()
  while (cursor && (cursor.key < nowSeconds || excess > 0)) {
    await cursor.delete()
    removed++
    excess--
    cursor = await cursor.continue()
  }
  await tx.done
  return removed
}

/** Records a stored image; returns the ids of the same key and variant at other etags. */
export async function recordEntry(db: WorkerDb, entry: EntryRecord): Promise<string[]> {
  const tx = db.transaction('entries', 'readwrite')
  const siblings = await tx.store.index('by-key').getAll(entry.key)
  const stale = siblings.filter((s) => s.variant === entry.variant && s.etag !== entry.etag).map((s) => s.id)
  await Promise.all([...stale.map((id) => tx.store.delete(id)), tx.store.put(entry)])
  await tx.done
  return stale
}

export async function entry(db: WorkerDb, id: string): Promise<EntryRecord | undefined> {
  return db.get('entries', id)
}

/** Marks entries as just used (one transaction for every hit of a moment). */
export async function touchEntries(db: WorkerDb, ids: Iterable<string>, nowMs: number): Promise<void> {
  const tx = db.transaction('entries', 'readwrite')
  const work: Promise<unknown>[] = []
  for (const id of ids) {
    work.push(
      tx.store.get(id).then((found) => {
        if (found) return tx.store.put({ ...found, accessed_at: nowMs })
      }),
    )
  }
  await Promise.all(work)
  await tx.done
}

/** Every entry, least recently used first. */
export function entriesOldestFirst(db: WorkerDb): Promise<EntryRecord[]> {
  return db.getAllFromIndex('entries', 'by-accessed')
}

export function entryIds(db: WorkerDb): Promise<string[]> {
  return db.getAllKeys('entries')
}

export async function deleteEntries(db: WorkerDb, ids: readonly string[]): Promise<void> {
  if (!ids.length) return
  const tx = db.transaction('entries', 'readwrite')
  await Promise.all([...ids.map((id) => tx.store.delete(id)), tx.done])
}

/** Ids of every entry of `keys` (any etag, any variant). */
export async function entriesOfKeys(db: WorkerDb, keys: readonly string[]): Promise<string[]> {
  const tx = db.transaction('entries')
  const found = await Promise.all(keys.map((key) => tx.store.index('by-key').getAllKeys(key)))
  await tx.done
  return found.flat()
}
