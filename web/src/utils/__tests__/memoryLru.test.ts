import { describe, expect, it } from 'vitest'

import type { StoredEntry } from '../imageCacheEntry'
import { MemoryLru } from '../memoryLru'

function stored(key: string, refreshAt = 1000): StoredEntry {
  const url = `/o/${key}`
  return { id: key, key, url, expires_at: refreshAt + 3600, refresh_at: refreshAt, etag: null, accessed_at: 0 }
}

describe('MemoryLru', () => {
  it('drops the least recently used beyond its bound; a bump counts as a use', () => {
    const lru = new MemoryLru(2)
    lru.set(stored('a'))
    lru.set(stored('b'))
    lru.bump(lru.peek('a')!)
    lru.set(stored('c'))
    expect(lru.size).toBe(2)
    expect(lru.peek('b')).toBeUndefined()
    expect(lru.peek('a')?.key).toBe('a')
    expect(lru.peek('c')?.key).toBe('c')
  })

  it('peek does not change the order', () => {
    const lru = new MemoryLru(2)
    lru.set(stored('a'))
    lru.set(stored('b'))
    lru.peek('a')
    lru.set(stored('c'))
    expect(lru.peek('a')).toBeUndefined()
  })

  it('sweeps the entries that may no longer be served', () => {
    const lru = new MemoryLru(10)
    lru.set(stored('old', 100))
    lru.set(stored('edge', 200))
    lru.set(stored('new', 300))
    expect(lru.sweep(200_000)).toBe(2)
    expect(lru.size).toBe(1)
    expect(lru.peek('new')).toBeDefined()
  })

  it('deletes and clears', () => {
    const lru = new MemoryLru(10)
    lru.set(stored('a'))
    lru.set(stored('b'))
    lru.delete('a')
    expect(lru.peek('a')).toBeUndefined()
    lru.clear()
    expect(lru.size).toBe(0)
  })
})
