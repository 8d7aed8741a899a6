/**
 * The cache's memory layer: an LRU over a `Map`, whose insertion order is the recency order (a
 * read moves the entry to the end). Written by hand because it is this small and the gallery's
 * first load carries it; an LRU library would add more than it saves.
 */
import { isUsable, type StoredEntry } from './imageCacheEntry'

export class MemoryLru {
  private readonly map = new Map<string, StoredEntry>()

  constructor(private readonly maxEntries: number) {}

  get size(): number {
    return this.map.size
  }

  /** The entry of `id` (see `cacheId`), without changing its recency. */
  peek(id: string): StoredEntry | undefined {
    return this.map.get(id)
  }

  /** Marks `entry` as most recently used. */
  bump(entry: StoredEntry): void {
    this.map.delete(entry.id)
    this.map.set(entry.id, entry)
  }

  /** Stores `entry` as most recently used, dropping the least recently used beyond the bound. */
  set(entry: StoredEntry): void {
    this.bump(entry)
    while (this.map.size > this.maxEntries) {
      const oldest = this.map.keys().next()
      if (oldest.done) break
      this.map.delete(oldest.value)
    }
  }

  delete(id: string): void {
    this.map.delete(id)
  }

  clear(): void {
    this.map.clear()
  }

  /** Removes entries that may no longer be served at `nowMs`; returns how many went. */
  sweep(nowMs: number): number {
    let removed = 0
    for (const [key, entry] of this.map) {
      if (!isUsable(entry, nowMs)) {
        this.map.delete(key)
        removed++
      }
    }
    return removed
  }
}
