import { describe, expect, it } from 'vitest'

import {
  isStoredEntry,
  isUsable,
  publicView,
  toCachedUrl,
  toStoredEntry,
  touchDue,
  type CachedUrl,
} from '../imageCacheEntry'

const entry: CachedUrl = {
  key: 'a.png',
  url: '/objects/a.png?sig=1',
  expires_at: 2000,
  refresh_at: 1000,
  etag: '"e1"',
}

describe('imageCacheEntry', () => {
  it('keeps only the cached fields and turns a missing etag into null', () => {
    const response = { ...entry, generated_at: 5, extra: 'x', etag: undefined }
    expect(toCachedUrl(response)).toEqual({ ...entry, etag: null })
    const fields = Object.keys(toCachedUrl(response)).sort()
    expect(fields).toEqual(['etag', 'expires_at', 'key', 'refresh_at', 'url'])
  })

  it('stores an access time and strips it again for callers', () => {
    const stored = toStoredEntry({ ...entry, junk: true } as CachedUrl, 42)
    expect(stored).toEqual({ ...entry, id: 'a.png', accessed_at: 42 })
    expect(publicView(stored)).toEqual(entry)
  })

  it('serves an entry only while refresh_at is ahead', () => {
    expect(isUsable(entry, 999_999)).toBe(true)
    expect(isUsable(entry, 1_000_000)).toBe(false)
    expect(isUsable(entry, 1_500_000)).toBe(false)
  })

  it('writes an access time back only once the interval has passed', () => {
    expect(touchDue({ accessed_at: 1000 }, 60_999, 60_000)).toBe(false)
    expect(touchDue({ accessed_at: 1000 }, 61_000, 60_000)).toBe(true)
  })

  it('rejects stored values that lack an entry field', () => {
    expect(isStoredEntry({ ...entry, id: 'a.png', accessed_at: 1 })).toBe(true)
    expect(isStoredEntry({ ...entry, accessed_at: 1 })).toBe(false) // a version-1 entry: no id
    expect(isStoredEntry(null)).toBe(false)
    expect(isStoredEntry('a.png')).toBe(false)
    expect(isStoredEntry({ ...entry, url: 7 })).toBe(false)
    expect(isStoredEntry({ key: 'a', url: 'u', refresh_at: 1 })).toBe(false)
  })
})
