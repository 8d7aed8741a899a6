import { IDBFactory } from 'fake-indexeddb'
import { beforeEach, describe, expect, it, vi } from 'vitest'

import { learnedFrom, type LearnedUrl } from '../identity'
import { CACHE_NAME } from '../names'
import { ImageStore } from '../store'

import { MemoryCaches } from './memoryCaches'

const ORIGIN = 'https://gallery.example'
const NOW = 1_000_000_000 // ms

function learned(key: string, sig: string, etag = '"v1"', overrides: Record<string, unknown> = {}): LearnedUrl {
  const item = { key, etag, url: `/objects/${key}?sig=${sig}`, variant: 'w320.webp', size: 40, expires_at: NOW / 1000 + 60 }
  return learnedFrom({ ...item, ...overrides }, ORIGIN)!
}

function image(bytes: number, status = 200): Response {
  return new Response(new Uint8Array(bytes), { status, headers: { 'Content-Type': 'image/webp' } })
}

function opaque(): Response {
  const response = new Response(null, { status: 200 })
  Object.defineProperty(response, 'type', { value: 'opaque' })
  return response
}

let caches: MemoryCaches
let clock: number

function newStore(bounds = { maxEntries: 10, maxBytes: 1000 }): ImageStore {
  return new ImageStore({ caches: caches.asCacheStorage(), origin: ORIGIN, bounds, now: () => clock })
}

async function served(store: ImageStore, url: string): Promise<number | null> {
  const record = await store.identityOf(url)
  if (!record) return null
  const hit = await store.match(record)
  return hit ? (await hit.arrayBuffer()).byteLength : null
}

async function cacheAndStore(store: ImageStore, found: LearnedUrl, response: Response): Promise<boolean> {
  await store.learn([found])
  return store.put((await store.identityOf(found.url))!, response)
}

beforeEach(() => {
  vi.stubGlobal('indexedDB', new IDBFactory())
  caches = new MemoryCaches()
  clock = NOW
})

describe('ImageStore', () => {
  it('answers a new signature of the same object version from the cache', async () => {
    const store = newStore()
    expect(await cacheAndStore(store, learned('a.jpg', 'window-1'), image(30))).toBe(true)
    const rolled = learned('a.jpg', 'window-2')
    await store.learn([rolled])
    expect(await served(store, rolled.url)).toBe(30)
  })

  it('never serves the bytes of another etag, and drops them once the new ones are stored', async () => {
    const store = newStore()
    const old = learned('a.jpg', 'window-1', '"v1"')
    await cacheAndStore(store, old, image(30))
    const changed = learned('a.jpg', 'window-2', '"v2"')
    await store.learn([changed])
    expect(await served(store, changed.url)).toBeNull()
    await store.put((await store.identityOf(changed.url))!, image(31))
    expect(await served(store, changed.url)).toBe(31)
    expect(await served(store, old.url)).toBeNull()
    expect((await caches.open(CACHE_NAME)).entries.size).toBe(1)
  })

  it('knows nothing of a URL the API did not hand out', async () => {
    expect(await newStore().identityOf(`${ORIGIN}/objects/a.jpg?sig=forged`)).toBeUndefined()
  })

  it('marks a URL seen again with another etag (the HTTP cache may hold the old bytes)', async () => {
    const store = newStore()
    await store.learn([learned('a.jpg', 'same', '"v1"')])
    expect((await store.identityOf(learned('a.jpg', 'same').url))!.changed).toBe(false)
    await store.learn([learned('a.jpg', 'same', '"v2"')])
    const record = (await store.identityOf(learned('a.jpg', 'same').url))!
    expect([record.etag, record.changed]).toEqual(['"v2"', true])
  })

  it('keeps what it learned and stored across a restart of the worker', async () => {
    const found = learned('a.jpg', 'window-1')
    await cacheAndStore(newStore(), found, image(30))
    expect(await served(newStore(), found.url)).toBe(30)
  })

  it('waits for JSON still being read before calling a URL unknown', async () => {
    const store = newStore()
    const found = learned('a.jpg', 'window-1')
    let finish: (value: LearnedUrl[]) => void = () => {}
    void store.learn(new Promise<LearnedUrl[]>((resolve) => (finish = resolve)))
    const lookup = store.identityOf(found.url)
    finish([found])
    expect((await lookup)?.key).toBe('a.jpg')
  })

  it('stores only 200s; an opaque response while its URL lives, charged the API size', async () => {
    const store = newStore()
    expect(await cacheAndStore(store, learned('a.jpg', 's'), image(30, 403))).toBe(false)
    expect(await cacheAndStore(store, learned('b.jpg', 's', '"v1"', { size: 400 }), opaque())).toBe(true)
    expect(await store.usage()).toEqual({ entries: 1, bytes: 400 })
    const dead = learned('c.jpg', 's', '"v1"', { expires_at: NOW / 1000 - 1 })
    expect(await cacheAndStore(store, dead, opaque())).toBe(false)
  })

  it('evicts the least recently used beyond the entry bound', async () => {
    const store = newStore({ maxEntries: 2, maxBytes: 1000 })
    const [a, b, c] = ['a.jpg', 'b.jpg', 'c.jpg'].map((key) => learned(key, 's'))
    await cacheAndStore(store, a!, image(10))
    clock += 1000
    await cacheAndStore(store, b!, image(10))
    clock += 1000
    expect(await served(store, a!.url)).toBe(10) // a is used again: b is now the oldest
    await store.trim()
    clock += 1000
    await cacheAndStore(store, c!, image(10))
    expect(await store.trim()).toHaveLength(1)
    expect(await served(store, b!.url)).toBeNull()
    expect(await served(store, a!.url)).toBe(10)
    expect(await served(store, c!.url)).toBe(10)
  })

  it('evicts the least recently used until the bytes fit, and refuses what never fits', async () => {
    const store = newStore({ maxEntries: 100, maxBytes: 100 })
    for (const [i, key] of ['a.jpg', 'b.jpg', 'c.jpg'].entries()) {
      clock = NOW + i
      await cacheAndStore(store, learned(key, 's'), image(40))
    }
    await store.trim()
    expect(await store.usage()).toEqual({ entries: 2, bytes: 80 })
    expect(await served(store, learned('a.jpg', 's').url)).toBeNull()
    expect(await cacheAndStore(store, learned('huge.jpg', 's'), image(101))).toBe(false)
    expect((await caches.open(CACHE_NAME)).entries.size).toBe(2)
  })

  it('forgets every variant of keys the page asks to re-validate', async () => {
    const store = newStore()
    await cacheAndStore(store, learned('a.jpg', 's'), image(10))
    await cacheAndStore(store, learned('a.jpg', 's2', '"v1"', { variant: 'w640.webp' }), image(20))
    await cacheAndStore(store, learned('b.jpg', 's'), image(10))
    expect(await store.forgetKeys(['a.jpg'])).toBe(2)
    expect(await store.usage()).toEqual({ entries: 1, bytes: 10 })
    expect(await served(store, learned('b.jpg', 's').url)).toBe(10)
  })

  it('drops mappings of dead URLs', async () => {
    const store = newStore()
    const found = learned('a.jpg', 's')
    await store.learn([found])
    clock += 61_000
    await store.trim()
    expect(await newStore().identityOf(found.url)).toBeUndefined()
  })

  it('lets the page delete its database (turned off) and never creates it again', async () => {
    const store = newStore()
    const found = learned('a.jpg', 's')
    await store.learn([found])
    await new Promise((resolve) => (indexedDB.deleteDatabase('image-bytes').onsuccess = resolve))
    await expect(store.identityOf(found.url)).rejects.toThrow()
    expect(await indexedDB.databases()).toEqual([])
  })
})
