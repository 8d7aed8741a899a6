import { IDBFactory } from 'fake-indexeddb'
import { afterEach, describe, expect, it, vi } from 'vitest'

import { ApiError } from '@/api/client'
import type { BatchResolveResponse, ErrorCode } from '@/api/types'

import { openImageCache, type CachedUrl, type ImageCache } from '../imageCache'
import { isPermanentResolveFailure, ResolveError, Resolver, type FetchBatch } from '../resolver'

const NOW = Math.floor(Date.now() / 1000)

function signed(key: string, version = 1) {
  return {
    key,
    url: `/objects/${key}?v=${version}&sig=s`,
    expires_at: NOW + 7200,
    refresh_at: NOW + 3600,
    etag: '"e"',
    content_type: 'image/png',
    size: 10,
  }
}

/** A backend that answers every key, except those it is told to fail. */
function fakeBackend(errors: Record<string, ErrorCode> = {}) {
  const calls: { keys: string[]; refresh: boolean }[] = []
  const fetchBatch = vi.fn<FetchBatch>(async (keys, refresh) => {
    calls.push({ keys: [...keys], refresh })
    const response: BatchResolveResponse = { items: [], errors: [] }
    for (const key of keys) {
      const code = errors[key]
      if (code) response.errors.push({ key, code, message: `${code}: ${key}` })
      else response.items.push(signed(key, calls.length))
    }
    return response
  })
  return { calls, fetchBatch }
}

/** Lets the zero-delay flush timer and the promise chains after it run. */
const settle = () => new Promise((resolve) => setTimeout(resolve, 10))

describe('Resolver', () => {
  const caches: ImageCache[] = []
  afterEach(() => {
    for (const cache of caches.splice(0)) cache.close()
  })

  it('sends 250 keys asked in one tick as 3 requests of at most 100', async () => {
    const { calls, fetchBatch } = fakeBackend()
    const resolver = new Resolver({ fetchBatch })
    const keys = Array.from({ length: 250 }, (_, i) => `img/${i}.png`)

    const results = await Promise.all(keys.map((key) => resolver.resolve(key)))

    expect(fetchBatch).toHaveBeenCalledTimes(3)
    expect(calls.map((c) => c.keys.length)).toEqual([100, 100, 50])
    expect(new Set(calls.flatMap((c) => c.keys))).toEqual(new Set(keys))
    expect(calls.every((c) => c.refresh === false)).toBe(true)
    expect(results.map((r) => r.key)).toEqual(keys)
    expect(results[7]?.url).toBe(`/objects/img/7.png?v=${calls.findIndex((c) => c.keys.includes('img/7.png')) + 1}&sig=s`)
  })

  it('asks once for a key asked twice in the same tick', async () => {
    const { calls, fetchBatch } = fakeBackend()
    const resolver = new Resolver({ fetchBatch })
    const first = resolver.resolve('a.png')
    const second = resolver.resolve('a.png')
    expect(second).toBe(first)
    await first
    expect(calls).toEqual([{ keys: ['a.png'], refresh: false }])
  })

  it('shares a key already in flight instead of asking again', async () => {
    let release!: () => void
    const gate = new Promise<void>((resolve) => (release = resolve))
    const { calls, fetchBatch } = fakeBackend()
    const resolver = new Resolver({
      fetchBatch: async (keys, refresh, variant) => {
        await gate
        return fetchBatch(keys, refresh, variant)
      },
    })

    const first = resolver.resolve('a.png')
    await settle() // the first batch has left and waits for its answer
    const second = resolver.resolve('a.png') // a later tick, same key
    const other = resolver.resolve('b.png')
    await settle()
    release()

    const [a1, a2, b] = await Promise.all([first, second, other])
    expect(a1).toEqual(a2)
    expect(b.key).toBe('b.png')
    // "a.png" went out once; the second tick only carried "b.png".
    expect(calls.map((c) => c.keys)).toEqual([['a.png'], ['b.png']])
  })

  it('delivers per-key errors only to the callers of that key', async () => {
    const { fetchBatch } = fakeBackend({ 'missing.png': 'not_found', '../etc': 'path_traversal' })
    const resolver = new Resolver({ fetchBatch })

    const ok = resolver.resolve('ok.png')
    const missing = resolver.resolve('missing.png')
    const missingAgain = resolver.resolve('missing.png')
    const traversal = resolver.resolve('../etc')

    await expect(ok).resolves.toMatchObject({ key: 'ok.png' })
    await expect(missing).rejects.toMatchObject({ name: 'ResolveError', key: 'missing.png', code: 'not_found' })
    await expect(missingAgain).rejects.toBeInstanceOf(ResolveError)
    await expect(traversal).rejects.toMatchObject({ code: 'path_traversal' })
    expect(fetchBatch).toHaveBeenCalledTimes(1)
    await missing.catch((error: unknown) => expect(isPermanentResolveFailure(error)).toBe(true))
  })

  it('rejects a key the server left out of both lists', async () => {
    const resolver = new Resolver({
      fetchBatch: async () => ({ items: [signed('a')], errors: [] }),
    })
    const a = resolver.resolve('a')
    const b = resolver.resolve('b')
    await expect(a).resolves.toMatchObject({ key: 'a' })
    await expect(b).rejects.toMatchObject({ code: 'missing' })
  })

  it('fails only the keys of a request that failed as a whole', async () => {
    let call = 0
    const resolver = new Resolver({
      maxBatch: 2,
      fetchBatch: async (keys) => {
        call++
        if (call === 1) throw new ApiError('http', 'boom', 503)
        return { items: keys.map((k) => signed(k)), errors: [] }
      },
    })
    const results = await Promise.allSettled(['a', 'b', 'c'].map((key) => resolver.resolve(key)))
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected', 'fulfilled'])
    const reason = (results[0] as PromiseRejectedResult).reason as ApiError
    expect(reason.status).toBe(503)
    expect(isPermanentResolveFailure(reason)).toBe(false)
  })

  it('a request that failed is not shared later: the next ask goes out again', async () => {
    let fail = true
    const fetchBatch = vi.fn<FetchBatch>(async (keys) => {
      if (fail) throw new ApiError('network', 'offline')
      return { items: keys.map((k) => signed(k)), errors: [] }
    })
    const resolver = new Resolver({ fetchBatch })
    await expect(resolver.resolve('a')).rejects.toMatchObject({ kind: 'network' })
    fail = false
    await expect(resolver.resolve('a')).resolves.toMatchObject({ key: 'a' })
    expect(fetchBatch).toHaveBeenCalledTimes(2)
  })

  it('answers from the cache without a request, and fills the cache from answers', async () => {
    const cache = await openImageCache({ indexedDB: new IDBFactory(), dbName: 'resolver' })
    caches.push(cache)
    const cached: CachedUrl = { ...signed('cached.png'), url: '/objects/cached.png?from=cache' }
    await cache.set(cached)
    const { calls, fetchBatch } = fakeBackend()
    const resolver = new Resolver({ fetchBatch, cache })

    const [hit, miss] = await Promise.all([resolver.resolve('cached.png'), resolver.resolve('new.png')])
    expect(hit.url).toBe('/objects/cached.png?from=cache')
    expect(miss.url).toBe('/objects/new.png?v=1&sig=s')
    expect(calls).toEqual([{ keys: ['new.png'], refresh: false }])
    expect((await cache.get('new.png'))?.url).toBe('/objects/new.png?v=1&sig=s')

    // A second ask is answered locally.
    await resolver.resolve('new.png')
    expect(calls).toHaveLength(1)
  })

  it('refresh skips the cache and asks the backend to re-validate', async () => {
    const cache = await openImageCache({ indexedDB: new IDBFactory(), dbName: 'resolver-refresh' })
    caches.push(cache)
    await cache.set(signed('a.png'))
    const { calls, fetchBatch } = fakeBackend()
    const resolver = new Resolver({ fetchBatch, cache })

    const [normal, refreshed] = await Promise.all([
      resolver.resolve('b.png'),
      resolver.resolve('a.png', { refresh: true }),
    ])
    expect(normal.key).toBe('b.png')
    expect(refreshed.url).toMatch(/v=\d/)
    expect(calls).toContainEqual({ keys: ['a.png'], refresh: true })
    expect(calls).toContainEqual({ keys: ['b.png'], refresh: false })
  })

  it('a plain ask shares a forced refresh in flight for the same key', async () => {
    const { calls, fetchBatch } = fakeBackend()
    const resolver = new Resolver({ fetchBatch })
    const refreshed = resolver.resolve('a', { refresh: true })
    const plain = resolver.resolve('a')
    expect(plain).toBe(refreshed)
    await plain
    expect(calls).toEqual([{ keys: ['a'], refresh: true }])
  })

  it('invalidate drops the cached entry', async () => {
    const cache = await openImageCache({ indexedDB: new IDBFactory(), dbName: 'resolver-inv' })
    caches.push(cache)
    await cache.set(signed('a'))
    const resolver = new Resolver({ fetchBatch: fakeBackend().fetchBatch, cache })
    await resolver.invalidate('a')
    expect(await cache.get('a')).toBeUndefined()
  })
})
