/**
 * How big the worker's image cache may grow, and which entries go when it is over: least
 * recently used first, until both the entry count and the byte total are within bounds. Pure;
 * the database walks its `accessed_at` index and asks this which of them to delete.
 */

export interface CacheBounds {
  readonly maxEntries: number
  readonly maxBytes: number
}

/** Defaults: a few screens of photo variants; an opaque response counts its API `size`. */
export const DEFAULT_BOUNDS: CacheBounds = { maxEntries: 1000, maxBytes: 150 * 1024 * 1024 }

/** Most URL→identity mappings kept: several URLs per entry (one per window it was seen in). */
export const MAX_URLS = 5000

export interface Sized {
  readonly id: string
  readonly bytes: number
}

/**
 * Ids to evict from `oldestFirst` (every entry, least recently used first) so that what is
 * left fits `bounds`. An entry larger than `maxBytes` on its own goes too.
 */
export function evictions(oldestFirst: readonly Sized[], bounds: CacheBounds): string[] {
  let count = oldestFirst.length
  let bytes = oldestFirst.reduce((sum, entry) => sum + entry.bytes, 0)
  const out: string[] = []
  for (const entry of oldestFirst) {
    if (count <= bounds.maxEntries && bytes <= bounds.maxBytes) break
    out.push(entry.id)
    count--
    bytes -= entry.bytes
  }
  return out
}

/** Whether an entry of `bytes` may be stored at all (one larger than the whole cache may not). */
export function fits(bytes: number, bounds: CacheBounds): boolean {
  return bounds.maxEntries > 0 && bytes <= bounds.maxBytes
}
