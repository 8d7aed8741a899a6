import { afterEach, describe, expect, it, vi } from 'vitest'

import type { BatchResolveResponse } from '@/api/types'

import { createImageCache, type ImageCache } from '../imageCache'
import { Resolver, type FetchBatch } from '../resolver'
import { ORIGINAL, variantTag, type VariantSpec } from '../variants'

const NOW = Math.floor(Date.now() / 1000)

function backend() {
  const fetchBatch = vi.fn<FetchBatch>(async (keys, _refresh, variant) => {
    const tag = variantTag(variant)
    const response: BatchResolveResponse = {
      errors: [],
      items: keys.map((key) => ({
        key,
        url: `/objects/${key}?v=${tag}&sig=s`,
        expires_at: NOW + 7200,
        refresh_at: NOW + 3600,
        etag: '"e"',
        content_type: 'image/jpeg',
        size: 1,
        variant: tag,
      })),
    }
    return response
  })
  return fetchBatch
}

const at = (width: number, format: VariantSpec['format'] = 'avif'): VariantSpec => ({ width, format })

describe('Resolver with variants', () => {
  const caches: ImageCache[] = []
  afterEach(() => {
    for (const cache of caches.splice(0)) cache.close()
  })
  function memoryCache() {
    const cache = createImageCache({ indexedDB: null })
    caches.push(cache)
    return cache
  }

  it('sends N keys at one width as one request, and one request per width', async () => {
    const fetchBatch = backend()
    const resolver = new Resolver({ fetchBatch })
    const grid = ['a', 'b', 'c'].map((key) => resolver.resolve(key, { variant: at(256) }))
    const preview = resolver.resolve('a', { variant: at(1600) })
    const results = await Promise.all([...grid, preview])
    expect(fetchBatch).toHaveBeenCalledTimes(2)
    expect(fetchBatch).toHaveBeenCalledWith(['a', 'b', 'c'], false, at(256))
    expect(fetchBatch).toHaveBeenCalledWith(['a'], false, at(1600))
    expect(results.map((r) => r.url)).toEqual([
      '/objects/a?v=w256.avif&sig=s',
      '/objects/b?v=w256.avif&sig=s',
      '/objects/c?v=w256.avif&sig=s',
      '/objects/a?v=w1600.avif&sig=s',
    ])
  })

  it('caches by (key, variant): a 480w URL serves a 256w cell, never the preview or the original', async () => {
    const fetchBatch = backend()
    const resolver = new Resolver({ fetchBatch, cache: memoryCache() })
    await resolver.resolve('a', { variant: at(480) })
    expect(fetchBatch).toHaveBeenCalledTimes(1)

    const cell = await resolver.resolve('a', { variant: at(256) })
    expect(cell.url).toBe('/objects/a?v=w480.avif&sig=s')
    expect(cell.variant).toBe('w480.avif')
    expect(fetchBatch).toHaveBeenCalledTimes(1)

    const preview = await resolver.resolve('a', { variant: at(1600) })
    expect(preview.url).toBe('/objects/a?v=w1600.avif&sig=s')
    const original = await resolver.resolve('a')
    expect(original.url).toBe('/objects/a?v=original&sig=s')
    const webp = await resolver.resolve('a', { variant: at(256, 'webp') })
    expect(webp.url).toBe('/objects/a?v=w256.webp&sig=s')
    expect(fetchBatch).toHaveBeenCalledTimes(4)
  })

  it('answers seeded URLs with no request, and forgets only the variant that failed', async () => {
    const fetchBatch = backend()
    const resolver = new Resolver({ fetchBatch, cache: memoryCache() })
    const seeded = { key: 'a', variant: 'w480.avif', url: '/objects/a?seeded', expires_at: NOW + 7200, refresh_at: NOW + 3600, etag: null }
    resolver.seed([seeded, { ...seeded, variant: undefined, url: '/objects/a?original' }])
    expect((await resolver.resolve('a', { variant: at(480) })).url).toBe('/objects/a?seeded')
    expect((await resolver.resolve('a')).url).toBe('/objects/a?original')
    expect(fetchBatch).not.toHaveBeenCalled()

    await resolver.invalidate('a', at(480))
    expect((await resolver.resolve('a', { variant: at(480) })).url).toBe('/objects/a?v=w480.avif&sig=s')
    expect((await resolver.resolve('a', { variant: ORIGINAL })).url).toBe('/objects/a?original')
    expect(fetchBatch).toHaveBeenCalledOnce()
  })
})
