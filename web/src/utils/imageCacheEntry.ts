/**
 * What one entry of the browser's URL cache holds and when it may be served: the rules both
 * cache layers (memory and IndexedDB) apply, kept apart from how each layer stores entries.
 */

/** What the cache keeps per key: the part of a resolve response that matters to the browser. */
export interface CachedUrl {
  key: string
  url: string
  /** Epoch seconds after which the URL stops working. */
  expires_at: number
  /** Epoch seconds after which the URL should be resolved again; the entry is used until then. */
  refresh_at: number
  etag: string | null
}

/** An entry as stored: the public fields plus when it was last used. */
export interface StoredEntry extends CachedUrl {
  /** Epoch milliseconds of the last recorded use, for LRU eviction. */
  accessed_at: number
}

/**
 * Only the {@link CachedUrl} fields of `source` (a resolve response item carries more, a stored
 * entry its access time), with a missing etag as `null`.
 */
export function toCachedUrl(
  source: Omit<CachedUrl, 'etag'> & { etag?: string | null },
): CachedUrl {
  return {
    key: source.key,
    url: source.url,
    expires_at: source.expires_at,
    refresh_at: source.refresh_at,
    etag: source.etag ?? null,
  }
}

export function toStoredEntry(entry: CachedUrl, accessedAt: number): StoredEntry {
  return { ...toCachedUrl(entry), accessed_at: accessedAt }
}

export function publicView({ accessed_at: _accessed, ...entry }: StoredEntry): CachedUrl {
  return entry
}

/**
 * Whether a value read back from IndexedDB has the fields an entry needs: the database outlives
 * any one version of the app, and another version (or a person with devtools) may have written it.
 */
export function isStoredEntry(value: unknown): value is StoredEntry {
  if (!value || typeof value !== 'object') return false
  const entry = value as Record<string, unknown>
  return (
    typeof entry.key === 'string' &&
    typeof entry.url === 'string' &&
    typeof entry.refresh_at === 'number' &&
    typeof entry.expires_at === 'number'
  )
}

/**
 * An entry is served only while its `refresh_at` is ahead: the backend keeps the URL valid well
 * past that point, so a served URL is never about to die.
 */
export function isUsable(entry: Pick<CachedUrl, 'refresh_at'>, nowMs: number): boolean {
  return entry.refresh_at > nowMs / 1000
}

/** Whether a read should write the entry's access time back (at most once per `intervalMs`). */
export function touchDue(
  entry: Pick<StoredEntry, 'accessed_at'>,
  nowMs: number,
  intervalMs: number,
): boolean {
  return nowMs - entry.accessed_at >= intervalMs
}
