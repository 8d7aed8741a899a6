/**
 * Where a `<SmartImage>` gets its bytes from: the delivery modes, the kinds of URL they use and
 * when a mode may fall back to the backend's proxy. Pure, so the rules read in one place.
 */
import type { ImageRateLimit } from './imageProbe'
import { proxyUrl, redirectUrl } from './keys'
import { ORIGINAL, type VariantSpec } from './variants'

/**
 * How the browser gets the bytes:
 * - `auto`: signed URL straight from storage; proxy if that keeps failing (default);
 * - `direct`: signed URL only, never the proxy;
 * - `redirect`: the stable `/i/<key>` URL, which 302s to a signed URL; proxy if it fails;
 * - `proxy`: `/p/<key>`, bytes streamed by the backend.
 */
export type SmartImageMode = 'auto' | 'direct' | 'redirect' | 'proxy'

/** Which kind of URL `src` currently holds. */
export type SmartImageSource = 'signed' | 'redirect' | 'proxy'

/**
 * The `<img>` element reported an error for `src` (the browser gives no reason); `rateLimit`
 * when a probe of the URL found it refused with 429 (`utils/imageProbe.ts`).
 */
export class ImageLoadError extends Error {
  override readonly name = 'ImageLoadError'

  constructor(
    readonly src: string,
    readonly rateLimit: ImageRateLimit | null = null,
  ) {
    super(rateLimit ? 'The image was refused: too many requests' : 'The image could not be loaded')
  }
}

/** The kind of URL a mode starts with; `signed` is the only one that needs a resolve. */
export function firstSource(mode: SmartImageMode): SmartImageSource {
  if (mode === 'proxy' || mode === 'redirect') return mode
  return 'signed'
}

/** `url` with `params` appended (those not undefined), in order. */
function withParams(url: string, params: Record<string, string | number | undefined>): string {
  const query = Object.entries(params)
    .filter((entry): entry is [string, string | number] => entry[1] !== undefined)
    .map(([name, value]) => `${name}=${encodeURIComponent(String(value))}`)
    .join('&')
  if (!query) return url
  return `${url}${url.includes('?') ? '&' : '?'}${query}`
}

/**
 * `w`/`f` of a stable URL. Its format is `auto`: the `<img>` request's own `Accept` picks
 * AVIF or WebP (the server answers with `Vary: Accept`).
 */
function variantParams(variant: VariantSpec): { w?: number; f?: string } {
  if (variant.width === null && variant.format === 'original') return {}
  return { w: variant.width ?? undefined, f: variant.format === 'original' ? 'original' : 'auto' }
}

/**
 * The URL of a source that needs no resolve (`/i/<key>?w=&f=`, `/p/<key>?w=&f=`). `attempt`
 * (tries used so far) makes each retry of a redirect a new URL: a browser may have cached the
 * 302 to the URL that just failed.
 */
export function stableUrl(
  source: 'redirect' | 'proxy',
  key: string,
  attempt = 0,
  variant: VariantSpec = ORIGINAL,
): string {
  const params = variantParams(variant)
  if (source === 'proxy') return withParams(proxyUrl(key), params)
  return withParams(redirectUrl(key), { ...params, retry: attempt || undefined })
}

/** The proxy fallback after a failure: its variant, and the object's version (`keys.proxyUrl`). */
export function proxyFallbackUrl(key: string, etag: string | null, variant: VariantSpec = ORIGINAL) {
  return withParams(proxyUrl(key, etag), variantParams(variant))
}

/** Whether `mode`, its tries used up on `source`, may load the proxy instead. */
export function fallsBackToProxy(
  mode: SmartImageMode,
  source: SmartImageSource | undefined,
): boolean {
  return (mode === 'auto' || mode === 'redirect') && source !== 'proxy'
}
