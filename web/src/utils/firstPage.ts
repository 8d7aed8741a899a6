/**
 * The gallery's first page as index.html carries it (`<script type="application/json"
 * id="first-page">`, written by the backend's `api/http/web.py`): the listing with each item's
 * signed URL of one grid width, and the server's variant ladder. Read once; the listing is
 * handed out once, to the grid whose prefix and page size it was made for, and its URLs go to
 * the resolver's cache, so the first screen starts loading with no API request at all.
 */
import type { ImageItem, ImagePage } from '@/api/types'

import type { CachedUrl } from './imageCacheEntry'
import { toCachedUrl } from './imageCacheEntry'
import {
  parseVariantTag,
  snapWidth,
  variantTag,
  type VariantFormat,
  type VariantSpec,
} from './variants'

export const FIRST_PAGE_ID = 'first-page'

export interface FirstPage {
  prefix: string
  limit: number
  /** The variant width its URLs were signed for. */
  width: number
  format: string
  /** The server's `VARIANT_WIDTHS`. */
  widths?: number[]
  listing: ImagePage
}

function isFirstPage(value: unknown): value is FirstPage {
  if (!value || typeof value !== 'object') return false
  const page = value as Record<string, unknown>
  const listing = page.listing as Record<string, unknown> | undefined
  return (
    typeof page.prefix === 'string' &&
    typeof page.limit === 'number' &&
    typeof page.width === 'number' &&
    !!listing &&
    Array.isArray(listing.items)
  )
}

/** The embedded first page of `doc`, or null when there is none or it is not one. */
export function readFirstPage(doc: Document | undefined = globalThis.document): FirstPage | null {
  const text = doc?.getElementById(FIRST_PAGE_ID)?.textContent
  if (!text) return null
  try {
    const value: unknown = JSON.parse(text)
    return isFirstPage(value) ? value : null
  } catch {
    return null
  }
}

/**
 * The concrete format the server chose for the page (`w480.avif` → avif): what it negotiated
 * from the navigation's `Accept`, so what this browser shows. Null when no item names one.
 */
export function pageFormat(items: readonly ImageItem[]): VariantFormat | null {
  const counts = new Map<VariantFormat, number>()
  for (const item of items) {
    const format = parseVariantTag(item.variant)?.format
    if (format && format !== 'original' && format !== 'auto') {
      counts.set(format, (counts.get(format) ?? 0) + 1)
    }
  }
  let best: VariantFormat | null = null
  for (const [format, count] of counts) if (!best || count > counts.get(best)!) best = format
  return best
}

/**
 * Cache entries of a listing's signed URLs, under the variant that was asked (`spec`, its
 * width snapped to `ladder`): what resolving that variant of the key would return.
 */
export function entriesOf(
  items: readonly ImageItem[],
  spec: VariantSpec,
  ladder?: readonly number[],
): CachedUrl[] {
  const width = spec.width === null ? null : snapWidth(spec.width, ladder)
  const tag = variantTag({ width, format: spec.format })
  const entries: CachedUrl[] = []
  for (const item of items) {
    if (!item.url || item.expires_at === undefined || item.refresh_at === undefined) continue
    entries.push(
      toCachedUrl(
        { key: item.key, url: item.url, expires_at: item.expires_at, refresh_at: item.refresh_at, etag: item.etag },
        tag,
      ),
    )
  }
  return entries
}
