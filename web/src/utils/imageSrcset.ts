/**
 * `srcset` and `sizes` of a `<SmartImage>`'s `<img>`. Stable URLs (`/i/<key>?w=`, `/p/<key>?w=`)
 * cost nothing to name, so they list the whole ladder (up to the original's width) and let the
 * browser pick for the slot and its pixel density. A signed URL is one per variant and each
 * needs a resolve, so it is the one candidate the cell asked for (its box × devicePixelRatio).
 */
import { stableUrl, type SmartImageSource } from './imageDelivery'
import { parseVariantTag, snapWidth, type VariantSpec } from './variants'

export interface SrcsetInput {
  source: SmartImageSource | undefined
  /** The `<img>`'s current URL. */
  src: string | undefined
  key: string
  variant: VariantSpec
  ladder: readonly number[]
  /** The original's width in px, when known: no candidate past its ladder step. */
  sourceWidth?: number | null
  /** Of a signed `src`: the variant tag its entry was cached as (a wider one may stand in). */
  entryVariant?: string
}

export function srcsetFor(input: SrcsetInput): string | undefined {
  const { source, src, key, variant, ladder, sourceWidth } = input
  if (!src || !source || variant.width === null) return undefined
  const width = (source === 'signed' && parseVariantTag(input.entryVariant)?.width) || variant.width
  const own = `${src} ${width}w`
  // A retry or the proxy fallback carries extra parameters: only that URL, as it is.
  if (source === 'signed' || src !== stableUrl(source, key, 0, variant)) return own
  const top = sourceWidth ? snapWidth(sourceWidth, ladder) : Infinity
  const steps = ladder.filter((step) => step <= top)
  if (!steps.includes(variant.width)) steps.push(variant.width)
  return steps
    .sort((a, b) => a - b)
    .map((step) => `${stableUrl(source, key, 0, { ...variant, width: step })} ${step}w`)
    .join(', ')
}
