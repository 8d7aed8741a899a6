/**
 * Where a `<SmartImage>` gets its bytes from: the delivery modes, the kinds of URL they use and
 * when a mode may fall back to the backend's proxy. Pure, so the rules read in one place.
 */
import type { ImageRateLimit } from './imageProbe'
import { proxyUrl, redirectUrl } from './keys'

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

/**
 * The URL of a source that needs no resolve. `attempt` (tries used so far) makes each retry of a
 * redirect a new URL: a browser may have cached the 302 to the URL that just failed.
 */
export function stableUrl(source: 'redirect' | 'proxy', key: string, attempt = 0): string {
  if (source === 'proxy') return proxyUrl(key)
  return attempt ? `${redirectUrl(key)}?retry=${attempt}` : redirectUrl(key)
}

/** Whether `mode`, its tries used up on `source`, may load the proxy instead. */
export function fallsBackToProxy(
  mode: SmartImageMode,
  source: SmartImageSource | undefined,
): boolean {
  return (mode === 'auto' || mode === 'redirect') && source !== 'proxy'
}
