/**
 * Variants as the browser asks for them: an image at a ladder width, in a format. The server
 * snaps any width up to its `VARIANT_WIDTHS` ladder; the client snaps first, so every cell of
 * one size asks for the same variant (one cache entry, one batch, one browser-cached file).
 *
 * The ladder comes from the server (the first page embedded in index.html carries it); until
 * one is known, {@link DEFAULT_LADDER} (the server's default) stands in. A wrong guess costs
 * nothing but a cache miss: the server snaps again.
 */

export type VariantFormat = 'auto' | 'original' | 'avif' | 'webp' | 'jpeg' | 'png'

/** What to ask for: a width in px (`null`: full size) and a format. */
export interface VariantSpec {
  width: number | null
  format: VariantFormat
}

export const ORIGINAL: VariantSpec = Object.freeze({ width: null, format: 'original' })

/** The server's default `VARIANT_WIDTHS`. */
export const DEFAULT_LADDER: readonly number[] = Object.freeze([
  64, 128, 256, 320, 480, 640, 768, 960, 1280, 1600, 1920, 2560,
])

/** Same shape as the server's tag (`w320.webp`), or `original`: the cache's variant id. */
export function variantTag(spec: VariantSpec): string {
  return spec.width === null && spec.format === 'original' ? 'original' : `w${spec.width ?? 0}.${spec.format}`
}

const FORMATS = new Set<string>(['auto', 'original', 'avif', 'webp', 'jpeg', 'png'])

/** The spec a tag names (`w480.avif` → 480, avif), or null for something else. */
export function parseVariantTag(tag: string | null | undefined): VariantSpec | null {
  if (tag === 'original') return ORIGINAL
  const match = /^w(\d+)\.([a-z]+)$/.exec(tag ?? '')
  if (!match || !FORMATS.has(match[2]!)) return null
  const width = Number(match[1])
  return { width: width || null, format: match[2] as VariantFormat }
}

/** A clean, ascending ladder of positive whole widths (duplicates and junk dropped). */
export function normalizeLadder(widths: readonly unknown[]): number[] {
  const steps = widths.filter((w): w is number => Number.isInteger(w) && (w as number) > 0)
  return [...new Set(steps)].sort((a, b) => a - b)
}

/** The first ladder step at least `px` wide (the largest step past the top). */
export function snapWidth(px: number, ladder: readonly number[] = DEFAULT_LADDER): number {
  const steps = ladder.length ? ladder : DEFAULT_LADDER
  return steps.find((step) => step >= px) ?? steps[steps.length - 1]!
}

export interface BoxSize {
  /** CSS px of the image's box. */
  width: number
  height: number
}

/**
 * The width to ask for to fill `box` at `dpr` device pixels per CSS pixel, snapped to the
 * ladder. With `object-fit: cover` and an image of ratio `aspect` (width / height), a box
 * relatively taller than the image needs the image wider than the box.
 */
export function widthForBox(
  box: BoxSize,
  dpr: number,
  ladder: readonly number[] = DEFAULT_LADDER,
  aspect?: number | null,
): number {
  let css = box.width
  if (aspect && aspect > 0 && box.height > 0) css = Math.max(css, box.height * aspect)
  return snapWidth(Math.ceil(css * Math.max(1, dpr || 1)), ladder)
}

/**
 * Variants a cached entry may stand in for `spec` with: the same format, at least as wide
 * and at most `factor` times as wide (a 480w URL serves a 256w cell, never a 1600w preview),
 * the asked one first.
 */
export function acceptableTags(
  spec: VariantSpec,
  ladder: readonly number[] = DEFAULT_LADDER,
  factor = 2,
): string[] {
  const asked = variantTag(spec)
  if (spec.width === null) return [asked]
  const width = spec.width
  const wider = ladder.filter((step) => step > width && step <= width * factor)
  return [asked, ...wider.map((step) => variantTag({ width: step, format: spec.format }))]
}

/**
 * Source types every store makes variants from (the local store's Pillow list; COS does more).
 * Anything else (a GIF animation, an SVG) is shown as stored: a variant of it would be refused.
 */
const VARIANT_SOURCES = new Set(['image/jpeg', 'image/png', 'image/webp', 'image/avif', 'image/bmp'])

export function makesVariants(contentType: string | null | undefined): boolean {
  return VARIANT_SOURCES.has((contentType ?? '').split(';')[0]!.trim().toLowerCase())
}

/**
 * The ladder and the grid's format in use on this page. The format is what the server
 * negotiated for the embedded first page from the navigation's `Accept` (AVIF, else WebP),
 * asked for by name afterwards: the JSON API's own `Accept` names no image type.
 */
export const variantSettings = {
  ladder: [...DEFAULT_LADDER] as number[],
  format: 'webp' as VariantFormat,
  configure({ widths, format }: { widths?: readonly unknown[] | null; format?: VariantFormat | null }) {
    const ladder = widths ? normalizeLadder(widths) : []
    if (ladder.length) this.ladder = ladder
    if (format && format !== 'auto') this.format = format
  },
}
