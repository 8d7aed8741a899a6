/**
 * What one entry of the browser's URL cache holds and when it may be served: the rules both
 * cache layers (memory and IndexedDB) apply, kept apart from how each layer stores entries.
 */

/** What the cache keeps per (key, variant): the part of a resolve response the browser needs. */
export interface CachedUrl {
  key: string
  /**
   * The variant asked for (`w480.webp`, see `variants.ts`); absent: the original. The entry's
   * id is (key, variant), so a grid cell's 480w URL is never handed to the preview.
   */
  variant?: string
  url: string
  /** Epoch seconds after which the URL stops working. */
  expires_at: number
  /** Epoch seconds after which the URL should be resolved again; the entry is used until then. */
  refresh_at: number
  etag: string | null
}

/** An entry as stored: the public fields plus its id and when it was last used. */
export interface StoredEntry extends CachedUrl {
  /** {@link cacheId} of key and variant: the IndexedDB key path and the memory layer's key. */
  id: string
  /** Epoch milliseconds of the last recorded use, for LRU eviction. */
  accessed_at: number
}

/**
 * The id of (key, variant): the key itself for the original, else key, U+0001, tag. Keys never
 * hold control characters (the backend refuses them), so no two pairs share an id.
 */
export function cacheId(key: string, variant: string | undefined = 'original'): string {
  return variant === 'original' ? key : `${key}\u0001${variant}`
}

export function idOf(entry: Pick<CachedUrl, 'key' | 'variant'>): string {
  return cacheId(entry.key, entry.variant)
}

/**
 * Only the {@link CachedUrl} fields of `source` (a resolve response item carries more, a stored
 * entry its access time), with a missing etag as `null`.
 */
export function toCachedUrl(
  source: Omit<CachedUrl, 'etag' | 'variant'> & { etag?: string | null },
  variant?: string,
): CachedUrl {
  const entry: CachedUrl = {
    key: source.key,
    url: source.url,
    expires_at: source.expires_at,
    refresh_at: source.refresh_at,
    etag: source.etag ?? null,
  }
  if (variant !== undefined && variant !== 'original') entry.variant = variant
  return entry
}

export function toStoredEntry(entry: CachedUrl, accessedAt: number): StoredEntry {
  const fields = toCachedUrl(entry, entry.variant)
  return { ...fields, id: idOf(fields), accessed_at: accessedAt }
}

export function publicView({ accessed_at: _accessed, id: _id, ...entry }: StoredEntry): CachedUrl {
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
    typeof entry.id === 'string' &&
    typeof entry.key === 'string' &&
    (entry.variant === undefined || typeof entry.variant === 'string') &&
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
