import { describe, expect, it } from 'vitest'

import { base64Bytes, placeholderUrl } from '../placeholder'

// The backend's ThumbHash (api/storage/image_meta.py) of a 300x200 image, red left, blue right.
const HASH = 'mIYCpZ5weoZ3h4iHd4iHeI+I94h4'

describe('placeholder', () => {
  it('decodes base64 without padding, in either alphabet', () => {
    expect(Array.from(base64Bytes('AQID') ?? [])).toEqual([1, 2, 3])
    expect(Array.from(base64Bytes('AQI') ?? [])).toEqual([1, 2])
    expect(Array.from(base64Bytes('-_8') ?? [])).toEqual([251, 255])
    expect(base64Bytes('not base64!')).toBeNull()
  })

  it('turns a ThumbHash into a PNG data: URL, decoded once per hash', () => {
    const url = placeholderUrl(HASH)
    expect(url).toMatch(/^data:image\/png;base64,/)
    expect(placeholderUrl(HASH)).toBe(url)
  })

  it('gives none for no hash or a broken one', () => {
    expect(placeholderUrl(null)).toBeNull()
    expect(placeholderUrl('')).toBeNull()
    expect(placeholderUrl('AQ')).toBeNull() // shorter than a ThumbHash header
    expect(placeholderUrl('%%%')).toBeNull()
  })
})
