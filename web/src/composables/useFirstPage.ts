/**
 * The embedded first page, wired into the app: on first use it sets the page's variant ladder
 * and format (`variantSettings`) and seeds the resolver with its URLs; `take` hands its listing
 * once to the grid it was made for (same prefix and page size). Without an embedded page (the
 * dev server, another route first) the grid lists and resolves as before.
 */
import { entriesOf, pageFormat, readFirstPage, type FirstPage } from '@/utils/firstPage'
import type { ImagePage } from '@/api/types'
import { getDefaultResolver } from '@/utils/imageServices'
import type { Resolver } from '@/utils/resolver'
import { variantSettings, type VariantSpec } from '@/utils/variants'

/** Width the grid's later listing pages ask URLs for, when no first page said one. */
export const DEFAULT_GRID_WIDTH = 480

let page: FirstPage | null | undefined
let taken = false

function load(resolver: Pick<Resolver, 'seed'>): FirstPage | null {
  if (page !== undefined) return page
  page = readFirstPage()
  if (page) {
    variantSettings.configure({ widths: page.widths, format: pageFormat(page.listing.items) })
    resolver.seed(entriesOf(page.listing.items, gridVariant(), variantSettings.ladder))
  }
  return page
}

/** The variant the grid's listing pages carry URLs of: the first page's width and format. */
function gridVariant(): VariantSpec {
  return { width: page?.width ?? DEFAULT_GRID_WIDTH, format: variantSettings.format }
}

export function useFirstPage(resolver: Pick<Resolver, 'seed'> = getDefaultResolver()) {
  load(resolver)
  return {
    /** The embedded listing if it was made for `prefix` and `limit` and not handed out yet. */
    take(prefix: string, limit: number): ImagePage | null {
      const current = load(resolver)
      if (taken || !current || current.prefix !== prefix || current.limit !== limit) return null
      taken = true
      return current.listing
    },
    gridVariant,
    /** Seeds the resolver with the URLs a listing page carries (asked as `variant`). */
    seed(listing: ImagePage, variant: VariantSpec) {
      resolver.seed(entriesOf(listing.items, variant, variantSettings.ladder))
    },
  }
}

/** Tests: forget the page read, as on a new document. */
export function resetFirstPage(): void {
  page = undefined
  taken = false
}
