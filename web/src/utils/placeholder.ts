/**
 * The picture shown while an image's bytes are on their way: its ThumbHash (listing and resolve
 * items carry it as base64 without padding) decoded to a tiny PNG `data:` URL by the `thumbhash`
 * package. `img-src` of the page's policy allows `data:`. Decoded once per hash: a grid of 60
 * cells re-rendering does not decode 60 hashes again.
 */
import { thumbHashToDataURL } from 'thumbhash'

const MAX_MEMO = 500
const memo = new Map<string, string | null>()

/** Bytes of base64 (standard or URL-safe alphabet, padding optional); null when it is not. */
export function base64Bytes(text: string): Uint8Array | null {
  const clean = text.replace(/-/g, '+').replace(/_/g, '/').replace(/=+$/, '')
  if (!/^[A-Za-z0-9+/]*$/.test(clean) || clean.length % 4 === 1) return null
  const binary = atob(clean + '='.repeat((4 - (clean.length % 4)) % 4))
  const bytes = new Uint8Array(binary.length)
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i)
  return bytes
}

/** The placeholder's `data:` URL for a ThumbHash, or null for none or a broken one. */
export function placeholderUrl(hash: string | null | undefined): string | null {
  if (!hash) return null
  const known = memo.get(hash)
  if (known !== undefined) return known
  let url: string | null = null
  const bytes = base64Bytes(hash)
  // A ThumbHash is at least 5 bytes (its header); the decoder reads past shorter input.
  if (bytes && bytes.length >= 5) {
    try {
      url = thumbHashToDataURL(bytes)
    } catch {
      url = null
    }
  }
  if (memo.size >= MAX_MEMO) memo.delete(memo.keys().next().value!)
  memo.set(hash, url)
  return url
}
