import { IDBFactory } from 'fake-indexeddb'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'

import { openImageCache, type CachedUrl, type ImageCache } from '../imageCache'

const T0 = Date.UTC(2025, 0, 1) // ms

function entry(key: string, refreshInSeconds = 3600, now = T0): CachedUrl {
  const seconds = now / 1000
  return {
    key,
    url: `/objects/${key}?exp=${seconds + refreshInSeconds + 3600}&sig=abc`,
    expires_at: seconds + refreshInSeconds + 3600,
    refresh_at: seconds + refreshInSeconds,
    etag: `"etag-${key}"`,
  }
}

describe('imageCache', () => {
  let factory: IDBFactory
  let now: number
  const clock = () => now
  const open: ImageCache[] = []

  async function openCache(options: Parameters<typeof openImageCache>[0] = {}) {
    const cache = await openImageCache({ indexedDB: factory, clock, dbName: 'test', ...options })
    open.push(cache)
    return cache
  }

  beforeEach(() => {
    // A fresh, isolated IndexedDB per test.
    factory = new IDBFactory()
    now = T0
  })

  afterEach(() => {
    for (const cache of open.splice(0)) cache.close()
  })

  it('serves an entry while its refresh_at is ahead', async () => {
    const cache = await openCache()
    expect(cache.persistent).toBe(true)
    await cache.set(entry('a.png', 600))

    expect(await cache.get('a.png')).toEqual(entry('a.png', 600))
    now += 599_000
    expect((await cache.get('a.png'))?.url).toBe(entry('a.png', 600).url)
    expect(await cache.get('missing.png')).toBeUndefined()
  })

  it('ignores an entry once refresh_at has passed, and drops it', async () => {
    const cache = await openCache()
    await cache.set(entry('a.png', 600))

    now += 600_000 // exactly at refresh_at: no longer served
    expect(await cache.get('a.png')).toBeUndefined()

    // Gone from IndexedDB too, not just hidden by the memory layer.
    const reopened = await openCache()
    now = T0 // even a clock going back does not bring it back
    expect(await reopened.get('a.png')).toBeUndefined()
  })

  it('does not store entries that are already stale', async () => {
    const cache = await openCache()
    await cache.set({ ...entry('old.png'), refresh_at: now / 1000 - 1 })
    expect(await cache.size()).toBe(0)
  })

  it('keeps at most maxEntries, evicting the least recently used', async () => {
    const cache = await openCache({ maxEntries: 3, touchIntervalMs: 0 })
    for (const key of ['a', 'b', 'c']) {
      await cache.set(entry(key))
      now += 1000
    }
    // Reading "a" makes "b" the least recently used.
    expect(await cache.get('a')).toBeDefined()
    now += 1000
    await cache.set(entry('d'))

    expect(await cache.size()).toBe(3)
    const reopened = await openCache({ maxEntries: 3 })
    const found = await reopened.getMany(['a', 'b', 'c', 'd'])
    expect([...found.keys()].sort()).toEqual(['a', 'c', 'd'])
  })

  it('holds the bound for a batch larger than the bound', async () => {
    const cache = await openCache({ maxEntries: 5 })
    const batch = Array.from({ length: 12 }, (_, i) => entry(`k${i}`))
    await cache.setMany(batch)
    expect(await cache.size()).toBe(5)
  })

  it('works after reopening: entries persist in IndexedDB', async () => {
    const first = await openCache()
    await first.setMany([entry('a.png'), entry('b/c.png')])
    first.close()

    const second = await openCache()
    expect(second.persistent).toBe(true)
    const found = await second.getMany(['a.png', 'b/c.png', 'x.png'])
    expect(found.get('a.png')).toEqual(entry('a.png'))
    expect(found.get('b/c.png')).toEqual(entry('b/c.png'))
    expect(found.has('x.png')).toBe(false)
  })

  it('sweeps stale entries when opened', async () => {
    const first = await openCache()
    await first.setMany([entry('short', 60), entry('long', 7200)])
    first.close()

    now += 120_000
    const second = await openCache()
    // The sweep ran inside open: the stale entry is gone without anyone asking for it.
    expect(await second.size()).toBe(1)
    expect(await second.get('long')).toBeDefined()
  })

  it('deletes and clears', async () => {
    const cache = await openCache()
    await cache.setMany([entry('a'), entry('b')])
    await cache.delete('a')
    expect(await cache.get('a')).toBeUndefined()
    expect(await cache.get('b')).toBeDefined()
    await cache.clear()
    expect(await cache.size()).toBe(0)
  })

  describe('fails soft to memory', () => {
    it('without IndexedDB at all', async () => {
      const onFallback = vi.fn()
      const cache = await openCache({ indexedDB: null, onFallback })
      expect(cache.persistent).toBe(false)
      expect(onFallback).toHaveBeenCalledOnce()

      await cache.set(entry('a'))
      expect(await cache.get('a')).toEqual(entry('a'))
      now += 3600_000
      expect(await cache.get('a')).toBeUndefined()
    })

    it('when opening throws (private mode)', async () => {
      const broken = {
        open: () => {
          throw new DOMException('The user denied permission', 'SecurityError')
        },
      } as unknown as IDBFactory
      const cache = await openCache({ indexedDB: broken })
      expect(cache.persistent).toBe(false)
      await cache.set(entry('a'))
      expect(await cache.get('a')).toEqual(entry('a'))
    })

    it('when opening fails asynchronously', async () => {
      const failing = {
        open: () => {
          const request = new EventTarget() as IDBOpenDBRequest & { error: DOMException }
          Object.defineProperty(request, 'error', { value: new DOMException('nope', 'InvalidStateError') })
          setTimeout(() => request.dispatchEvent(new Event('error')))
          return request
        },
      } as unknown as IDBFactory
      const cache = await openCache({ indexedDB: failing })
      expect(cache.persistent).toBe(false)
      await cache.set(entry('a'))
      expect((await cache.get('a'))?.key).toBe('a')
    })

    it('when a write fails later (quota), keeping what it has in memory', async () => {
      const onFallback = vi.fn()
      const cache = await openCache({ onFallback })
      await cache.set(entry('a'))
      expect(cache.persistent).toBe(true)

      const quota = new DOMException('Quota exceeded', 'QuotaExceededError')
      const spy = vi.spyOn(IDBObjectStore.prototype, 'put').mockImplementation(() => {
        throw quota
      })
      await expect(cache.set(entry('b'))).resolves.toBeUndefined()
      spy.mockRestore()

      expect(cache.persistent).toBe(false)
      expect(onFallback).toHaveBeenCalledWith(quota)
      expect(await cache.get('a')).toBeDefined()
      expect(await cache.get('b')).toEqual(entry('b'))
    })

    it('memory mode keeps the LRU bound', async () => {
      const cache = await openCache({ indexedDB: null, maxEntries: 2 })
      await cache.setMany([entry('a'), entry('b')])
      await cache.get('a')
      await cache.set(entry('c'))
      expect(await cache.get('b')).toBeUndefined()
      expect(await cache.get('a')).toBeDefined()
      expect(await cache.get('c')).toBeDefined()
    })
  })
})
