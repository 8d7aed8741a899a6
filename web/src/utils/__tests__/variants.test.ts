import { describe, expect, it } from 'vitest'

import {
  acceptableTags,
  DEFAULT_LADDER,
  makesVariants,
  normalizeLadder,
  parseVariantTag,
  snapWidth,
  variantSettings,
  variantTag,
  widthForBox,
} from '../variants'

describe('variants', () => {
  it('snaps a width up to the next ladder step, the top step past the end', () => {
    expect(snapWidth(1)).toBe(64)
    expect(snapWidth(180)).toBe(256)
    expect(snapWidth(256)).toBe(256)
    expect(snapWidth(257)).toBe(320)
    expect(snapWidth(9000)).toBe(2560)
    expect(snapWidth(500, [300, 600])).toBe(600)
  })

  it('asks for the box width times devicePixelRatio', () => {
    const box = { width: 191, height: 127 }
    expect(widthForBox(box, 1)).toBe(256)
    expect(widthForBox(box, 2)).toBe(480) // 382 device px
    expect(widthForBox(box, 3)).toBe(640) // 573 device px
    expect(widthForBox(box, 0)).toBe(256) // unknown density counts as 1
  })

  it('covers a box relatively taller than the image with a wider variant', () => {
    // A 3:2 photo in a square 200 px box: cover shows it 300 px wide.
    expect(widthForBox({ width: 200, height: 200 }, 1, DEFAULT_LADDER, 1.5)).toBe(320)
    expect(widthForBox({ width: 200, height: 200 }, 1, DEFAULT_LADDER, 0.5)).toBe(256)
  })

  it('names variants as the server does and reads the names back', () => {
    expect(variantTag({ width: 480, format: 'webp' })).toBe('w480.webp')
    expect(variantTag({ width: null, format: 'original' })).toBe('original')
    expect(parseVariantTag('w480.avif')).toEqual({ width: 480, format: 'avif' })
    expect(parseVariantTag('original')).toEqual({ width: null, format: 'original' })
    expect(parseVariantTag('w480.gif')).toBeNull()
    expect(parseVariantTag(undefined)).toBeNull()
  })

  it('lets a cached variant up to twice as wide stand in, never a narrower one', () => {
    expect(acceptableTags({ width: 256, format: 'avif' })).toEqual(['w256.avif', 'w320.avif', 'w480.avif'])
    const preview = acceptableTags({ width: 1600, format: 'webp' })
    expect(preview).toEqual(['w1600.webp', 'w1920.webp', 'w2560.webp'])
    expect(preview).not.toContain('w480.webp')
    expect(acceptableTags({ width: null, format: 'original' })).toEqual(['original'])
  })

  it('makes variants of photos and pictures, not of animations or drawings', () => {
    expect(['image/jpeg', 'image/png', 'image/webp', 'IMAGE/AVIF; q=1'].map(makesVariants)).toEqual([true, true, true, true])
    expect(['image/gif', 'image/svg+xml', '', null].map(makesVariants)).toEqual([false, false, false, false])
  })

  it('takes the ladder and format the server gives, ignoring junk', () => {
    expect(normalizeLadder([640, 320, 'x', -1, 320, 1.5])).toEqual([320, 640])
    const saved = { ladder: variantSettings.ladder, format: variantSettings.format }
    try {
      variantSettings.configure({ widths: [200, 100], format: 'avif' })
      expect(variantSettings.ladder).toEqual([100, 200])
      expect(variantSettings.format).toBe('avif')
      variantSettings.configure({ widths: [], format: 'auto' }) // nothing usable: kept
      expect(variantSettings.ladder).toEqual([100, 200])
      expect(variantSettings.format).toBe('avif')
    } finally {
      Object.assign(variantSettings, saved)
    }
  })
})
