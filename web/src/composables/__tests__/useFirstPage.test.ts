import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'

import type { ImageItem } from '@/api/types'
import { FIRST_PAGE_ID } from '@/utils/firstPage'
import { createImageCache } from '@/utils/imageCache'
import { Resolver, type FetchBatch } from '@/utils/resolver'
import { variantSettings } from '@/utils/variants'

import { resetFirstPage, useFirstPage } from '../useFirstPage'

const NOW = Math.floor(Date.now() / 1000)

function item(key: string): ImageItem {
  return {
    key,
    size: 2_000_000,
    etag: '"e"',
    content_type: 'image/jpeg',
    last_modified: NOW,
    width: 3000,
    height: 2000,
    placeholder: 'mIYCpZ5weoZ3h4iHd4iHeI+I94h4',
    url: `/objects/${key}?w=480&f=avif&sig=s`,
    expires_at: NOW + 7200,
    refresh_at: NOW + 3600,
    variant: 'w480.avif',
  }
}

function embed(payload: unknown) {
  const script = document.createElement('script')
  script.type = 'application/json'
  script.id = FIRST_PAGE_ID
  script.textContent = JSON.stringify(payload)
  document.head.append(script)
}

const page = {
  prefix: 'demo/photos/',
  limit: 60,
  width: 480,
  format: 'auto',
  widths: [128, 256, 480, 960, 1920],
  listing: { items: [item('demo/photos/a.jpg'), item('demo/photos/b.jpg')], next_cursor: 'c' },
}

describe('useFirstPage', () => {
  const saved = { ladder: variantSettings.ladder, format: variantSettings.format }
  beforeEach(() => resetFirstPage())
  afterEach(() => {
    document.getElementById(FIRST_PAGE_ID)?.remove()
    Object.assign(variantSettings, saved)
    resetFirstPage()
  })

  function resolverWithCache() {
    const fetchBatch = vi.fn<FetchBatch>(async () => ({ items: [], errors: [] }))
    return { fetchBatch, resolver: new Resolver({ fetchBatch, cache: createImageCache({ indexedDB: null }) }) }
  }

  it('hands the embedded listing once to the grid it was made for, and seeds its URLs', async () => {
    embed(page)
    const { fetchBatch, resolver } = resolverWithCache()
    const first = useFirstPage(resolver)
    expect(first.take('demo/', 60)).toBeNull() // another prefix
    expect(first.take('demo/photos/', 50)).toBeNull() // another page size
    expect(first.take('demo/photos/', 60)).toEqual(page.listing)
    expect(first.take('demo/photos/', 60)).toBeNull() // once: a new prefix lists again

    // The server's ladder and the format it negotiated for this browser are the page's now.
    expect(variantSettings.ladder).toEqual([128, 256, 480, 960, 1920])
    expect(variantSettings.format).toBe('avif')
    expect(first.gridVariant()).toEqual({ width: 480, format: 'avif' })

    // A 256 px cell and a 480 px one both get the embedded URL, with no request.
    const cell = await resolver.resolve('demo/photos/a.jpg', { variant: { width: 256, format: 'avif' } })
    const wide = await resolver.resolve('demo/photos/b.jpg', { variant: { width: 480, format: 'avif' } })
    expect(cell.url).toBe('/objects/demo/photos/a.jpg?w=480&f=avif&sig=s')
    expect(wide.url).toBe('/objects/demo/photos/b.jpg?w=480&f=avif&sig=s')
    expect(fetchBatch).not.toHaveBeenCalled()
    // The preview's variant is not the grid's: it is asked for.
    await resolver.resolve('demo/photos/a.jpg', { variant: { width: 1920, format: 'avif' } }).catch(() => {})
    expect(fetchBatch).toHaveBeenCalledOnce()
  })

  it('does nothing without an embedded page, or with one that is not a first page', () => {
    const { resolver } = resolverWithCache()
    expect(useFirstPage(resolver).take('', 60)).toBeNull()
    resetFirstPage()
    embed({ prefix: 'x', listing: 'nope' })
    expect(useFirstPage(resolver).take('x', 60)).toBeNull()
    expect(variantSettings.format).toBe(saved.format)
  })
})
