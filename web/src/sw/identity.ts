/**
 * What an image URL *is*: the object version and variant it serves, independent of its
 * signature. A signed URL changes at every window rollover, its identity (key, etag, variant)
 * only when the object changes, so the worker caches bytes under the identity. Pure: the
 * worker learns identities from the JSON that hands out URLs, this module reads that JSON.
 */

/** One object version's variant, as a ResolvedUrl (or a listing item with `url`) names it. */
export interface ImageIdentity {
  readonly key: string
  readonly etag: string
  /** `w320.webp`, or `original` */
  readonly variant: string
  /** Bytes of the object, from the API: what an opaque (cross-origin) response is charged. */
  readonly size: number
}

/** A URL the API handed out, with what it serves and until when it works. */
export interface LearnedUrl {
  readonly url: string
  readonly identity: ImageIdentity
  /** Epoch seconds: after this the URL is dead, and its mapping can go. */
  readonly expiresAt: number
}

/** The path prefix of the synthetic requests that cache entries are stored under. */
export const CACHE_KEY_PATH = '/__image-bytes__/'

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/**
 * The identity and URL of one ResolvedUrl-shaped item, or null when it lacks what an identity
 * needs (a listing item without `url`, an error entry, an empty etag). `base` resolves relative
 * URLs (`/objects/...`) the way the page does: against the page's origin.
 */
export function learnedFrom(item: unknown, base: string): LearnedUrl | null {
  if (!isRecord(item)) return null
  const { key, etag, url, variant, size, expires_at: expiresAt } = item
  if (typeof key !== 'string' || !key || typeof etag !== 'string' || !etag) return null
  if (typeof url !== 'string' || !url) return null
  let absolute: string
  try {
    absolute = new URL(url, base).href
  } catch {
    return null
  }
  return {
    url: absolute,
    identity: {
      key,
      etag,
      variant: typeof variant === 'string' && variant ? variant : 'original',
      size: typeof size === 'number' && size >= 0 ? size : 0,
    },
    expiresAt: typeof expiresAt === 'number' ? expiresAt : 0,
  }
}

/**
 * Every URL a JSON body of the API hands out: a batch resolve or a listing (`{items: [...]}`),
 * one resolve (a ResolvedUrl), or the first page embedded in index.html (`{listing: {items}}`).
 */
export function learnedFromBody(body: unknown, base: string): LearnedUrl[] {
  if (!isRecord(body)) return []
  if (isRecord(body.listing)) return learnedFromBody(body.listing, base)
  const items = Array.isArray(body.items) ? body.items : [body]
  return items.map((item) => learnedFrom(item, base)).filter((found) => found !== null)
}

const FIRST_PAGE = /<script type="application\/json" id="first-page">([^<]*)<\/script>/

/**
 * The URLs of the first page embedded in index.html. The server escapes `<` inside the JSON,
 * so the element's text runs to the first `<`.
 */
export function learnedFromHtml(html: string, base: string): LearnedUrl[] {
  const text = FIRST_PAGE.exec(html)?.[1]
  if (!text) return []
  try {
    return learnedFromBody(JSON.parse(text), base)
  } catch {
    return []
  }
}

/** The id the bytes of `identity` are stored under: same key, etag and variant, same id. */
export function cacheId(identity: ImageIdentity): string {
  return [identity.key, identity.etag, identity.variant].map(encodeURIComponent).join('/')
}

/** The synthetic same-origin URL the Cache API stores `identity`'s bytes under. */
export function cacheUrl(identity: ImageIdentity, origin: string): string {
  return `${origin}${CACHE_KEY_PATH}${cacheId(identity)}`
}

/** Whether two identities name the same bytes; a changed etag never matches. */
export function sameBytes(a: ImageIdentity, b: ImageIdentity): boolean {
  return a.key === b.key && a.etag === b.etag && a.variant === b.variant
}
