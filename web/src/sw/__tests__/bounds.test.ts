import { describe, expect, it } from 'vitest'

import { evictions, fits } from '../bounds'

const entries = (...bytes: number[]) => bytes.map((b, i) => ({ id: `e${i}`, bytes: b }))

describe('cache bounds', () => {
  it('evicts nothing while within both bounds', () => {
    expect(evictions(entries(10, 10, 10), { maxEntries: 3, maxBytes: 30 })).toEqual([])
  })

  it('evicts the least recently used beyond the entry bound', () => {
    expect(evictions(entries(1, 1, 1, 1), { maxEntries: 2, maxBytes: 100 })).toEqual(['e0', 'e1'])
  })

  it('evicts the least recently used until the bytes fit', () => {
    // 60 + 30 + 20 = 110 > 50: drop e0 (60) -> 50, fits.
    expect(evictions(entries(60, 30, 20), { maxEntries: 10, maxBytes: 50 })).toEqual(['e0'])
    expect(evictions(entries(10, 30, 20), { maxEntries: 10, maxBytes: 25 })).toEqual(['e0', 'e1'])
  })

  it('holds both bounds at once', () => {
    expect(evictions(entries(1, 1, 50, 1), { maxEntries: 3, maxBytes: 10 })).toEqual(['e0', 'e1', 'e2'])
  })

  it('refuses an entry larger than the whole cache', () => {
    expect(fits(10, { maxEntries: 5, maxBytes: 10 })).toBe(true)
    expect(fits(11, { maxEntries: 5, maxBytes: 10 })).toBe(false)
    expect(fits(1, { maxEntries: 0, maxBytes: 10 })).toBe(false)
  })
})
