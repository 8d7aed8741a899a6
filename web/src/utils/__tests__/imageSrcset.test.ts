import { describe, expect, it } from 'vitest'

import { stableUrl } from '../imageDelivery'
import { srcsetFor } from '../imageSrcset'
import { DEFAULT_LADDER } from '../variants'

const base = { key: 'a/b.jpg', ladder: [256, 480, 960, 1920], variant: { width: 480, format: 'avif' as const } }

describe('srcsetFor', () => {
  it('lists the whole ladder of a stable URL, up to the original width, and names each width', () => {
    const src = stableUrl('redirect', 'a/b.jpg', 0, base.variant)
    expect(src).toBe('/i/a/b.jpg?w=480&f=auto')
    const srcset = srcsetFor({ ...base, source: 'redirect', src, sourceWidth: 900 })
    expect(srcset).toBe(
      '/i/a/b.jpg?w=256&f=auto 256w, /i/a/b.jpg?w=480&f=auto 480w, /i/a/b.jpg?w=960&f=auto 960w',
    )
    const proxied = srcsetFor({ ...base, source: 'proxy', src: stableUrl('proxy', 'a/b.jpg', 0, base.variant) })
    expect(proxied?.split(', ')).toHaveLength(4)
    expect(proxied).toContain('/p/a/b.jpg?w=1920&f=auto 1920w')
  })

  it('gives a signed URL as its one candidate, at the width of the entry behind it', () => {
    const src = '/objects/a/b.jpg?w=480&f=avif&sig=x'
    expect(srcsetFor({ ...base, source: 'signed', src, variant: { width: 256, format: 'avif' }, entryVariant: 'w480.avif' })).toBe(
      `${src} 480w`,
    )
    expect(srcsetFor({ ...base, source: 'signed', src })).toBe(`${src} 480w`)
  })

  it('keeps a retry or the proxy fallback as it is, and the original without a srcset', () => {
    const retry = stableUrl('redirect', 'a/b.jpg', 2, base.variant)
    expect(retry).toBe('/i/a/b.jpg?w=480&f=auto&retry=2')
    expect(srcsetFor({ ...base, source: 'redirect', src: retry })).toBe(`${retry} 480w`)
    const original = { width: null, format: 'original' as const }
    expect(srcsetFor({ ...base, variant: original, source: 'redirect', src: '/i/a/b.jpg', ladder: DEFAULT_LADDER })).toBeUndefined()
    expect(srcsetFor({ ...base, source: undefined, src: undefined })).toBeUndefined()
  })
})
