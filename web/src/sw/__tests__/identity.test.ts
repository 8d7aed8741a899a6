import { describe, expect, it } from 'vitest'

import {
  cacheId,
  learnedFrom,
  learnedFromBody,
  learnedFromHtml,
  sameBytes,
  type ImageIdentity,
} from '../identity'

const BASE = 'https://gallery.example'

function resolved(overrides: Record<string, unknown> = {}) {
  return {
    key: 'album/a b.jpg',
    url: '/objects/album/a%20b.jpg?w=320&f=webp&exp=100&sig=one',
    etag: '"abc-1"',
    variant: 'w320.webp',
    size: 2_000_000,
    expires_at: 100,
    refresh_at: 90,
    content_type: 'image/jpeg',
    ...overrides,
  }
}

describe('identity of a ResolvedUrl', () => {
  it('is key, etag and variant, with an absolute URL on the page origin', () => {
    expect(learnedFrom(resolved(), BASE)).toEqual({
      url: `${BASE}/objects/album/a%20b.jpg?w=320&f=webp&exp=100&sig=one`,
      identity: { key: 'album/a b.jpg', etag: '"abc-1"', variant: 'w320.webp', size: 2_000_000 },
      expiresAt: 100,
    })
  })

  it('is the same for a new signature of the same version, and differs for a new etag', () => {
    const first = learnedFrom(resolved(), BASE)!
    const rolled = learnedFrom(resolved({ url: '/objects/album/a%20b.jpg?exp=200&sig=two' }), BASE)!
    const changed = learnedFrom(resolved({ etag: '"abc-2"' }), BASE)!
    expect(rolled.url).not.toBe(first.url)
    expect(cacheId(rolled.identity)).toBe(cacheId(first.identity))
    expect(sameBytes(rolled.identity, first.identity)).toBe(true)
    expect(cacheId(changed.identity)).not.toBe(cacheId(first.identity))
    expect(sameBytes(changed.identity, first.identity)).toBe(false)
  })

  it('tells variants apart, and a missing variant is the original', () => {
    const small = learnedFrom(resolved(), BASE)!.identity
    const large = learnedFrom(resolved({ variant: 'w1280.webp' }), BASE)!.identity
    const original = learnedFrom(resolved({ variant: undefined }), BASE)!.identity
    expect(original.variant).toBe('original')
    expect(new Set([small, large, original].map(cacheId)).size).toBe(3)
  })

  it('keeps ids apart whatever the characters in key, etag or variant', () => {
    const a: ImageIdentity = { key: 'a/b', etag: 'c', variant: 'original', size: 0 }
    const b: ImageIdentity = { key: 'a', etag: 'b/c', variant: 'original', size: 0 }
    expect(cacheId(a)).not.toBe(cacheId(b))
  })

  it('ignores items that name no URL or no etag', () => {
    expect(learnedFrom(resolved({ url: undefined }), BASE)).toBeNull()
    expect(learnedFrom(resolved({ etag: '' }), BASE)).toBeNull()
    expect(learnedFrom({ key: 'x', code: 'not_found' }, BASE)).toBeNull()
    expect(learnedFrom('nope', BASE)).toBeNull()
  })
})

describe('URLs in the JSON that hands them out', () => {
  it('reads batches and listings, one resolve, and the embedded first page', () => {
    const items = [resolved(), resolved({ key: 'album/c.jpg', url: 'https://cdn.example/c.jpg?sign=1' })]
    const batch = learnedFromBody({ items, errors: [{ key: 'x', code: 'not_found' }] }, BASE)
    expect(batch.map((l) => l.url)).toEqual([`${BASE}${items[0]!.url}`, 'https://cdn.example/c.jpg?sign=1'])
    expect(learnedFromBody(resolved(), BASE)).toHaveLength(1)
    expect(learnedFromBody({ prefix: '', listing: { items, next_cursor: null } }, BASE)).toHaveLength(2)
    // A listing asked for without `width` has no URLs.
    expect(learnedFromBody({ items: [{ key: 'a', etag: 'e', size: 1 }] }, BASE)).toEqual([])
  })

  it('reads the first page out of index.html, escaped as the server writes it', () => {
    const payload = JSON.stringify({ listing: { items: [resolved({ key: 'a</script>' })] } }).replace(
      /</g,
      '\\u003c',
    )
    const html = `<html><head><script type="application/json" id="first-page">${payload}</script></head></html>`
    const [found] = learnedFromHtml(html, BASE)
    expect(found?.identity.key).toBe('a</script>')
    expect(learnedFromHtml('<html><head></head></html>', BASE)).toEqual([])
    expect(learnedFromHtml('<script type="application/json" id="first-page">{bad</script>', BASE)).toEqual([])
  })
})
