import type { SmartImageMode } from '../composables/useSmartImage'

export type ImageFit = 'fill' | 'contain' | 'cover' | 'none' | 'scale-down'

export interface SmartImageProps {
  /** Object key in the bucket, e.g. `albums/2024/cat.jpg`. */
  imageKey: string
  /** Text alternative; pass `''` only for purely decorative images. */
  alt: string
  /**
   * Delivery: `auto` (signed URL, proxy fallback), `direct` (signed URL only), `redirect`
   * (`/i/<key>`, proxy fallback) or `proxy` (`/p/<key>`).
   * @default 'auto'
   */
  mode?: SmartImageMode
  /**
   * Resolve and load only once the image comes near the viewport.
   * @default true
   */
  lazy?: boolean
  /**
   * How far outside the viewport an image counts as near (IntersectionObserver `rootMargin`).
   * @default '200px'
   */
  rootMargin?: string
  /**
   * `object-fit` of the picture inside its box.
   * @default 'cover'
   */
  fit?: ImageFit
  /**
   * CORS mode of the request. Leave unset unless the pixels are read (canvas): `anonymous`
   * needs CORS headers on the bucket/CDN for signed URLs, or the image fails.
   */
  crossorigin?: '' | 'anonymous' | 'use-credentials'
  /** Intrinsic width (px number or CSS length); with `height` it reserves the box. */
  width?: number | string
  /** Intrinsic height (px number or CSS length). */
  height?: number | string
  /** Box ratio (`1.5`, `'4 / 3'`) when the size is not known in pixels; prevents layout shift. */
  aspectRatio?: number | string
  /**
   * `fit`: a variant as wide as the box × devicePixelRatio (snapped to the server's ladder),
   * measured on mount; `original`: the file as stored.
   * @default 'original'
   */
  variant?: 'fit' | 'original'
  /** The image's ThumbHash (base64), shown until its bytes arrive. */
  placeholder?: string | null
  /**
   * The original's size in px (listing `width`/`height`): reserves the box at its ratio when
   * no `aspectRatio` is given, and caps the `srcset`.
   */
  sourceWidth?: number | null
  sourceHeight?: number | null
  /**
   * `first-screen`: when in the viewport on mount, load at once with `fetchpriority="high"`
   * (else lazy); `high`: always so; `auto`: lazy.
   * @default 'auto'
   */
  priority?: 'auto' | 'first-screen' | 'high'
}

export interface SmartImageEmits {
  /** The picture is on screen; gives the URL it came from. */
  load: [src: string]
  /** Every try failed; the error slot is showing. */
  error: [error: unknown]
}
