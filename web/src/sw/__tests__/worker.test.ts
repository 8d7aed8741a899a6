import { IDBFactory } from 'fake-indexeddb'
import { beforeEach, describe, expect, it, vi } from 'vitest'

import { ImageStore } from '../store'
import { ImageWorker, refreshedKeys, routeOf } from '../worker'

import { MemoryCaches } from './memoryCaches'

const ORIGIN = 'https://gallery.example'

/** A request as the page's fetch events carry it (`mode` and `destination` cannot be set on a constructed Request). */
function event(url: string, init: { method?: string; mode?: string; destination?: string; range?: boolean } = {}) {
  const headers = new Headers(init.range ? { Range: 'bytes=0-1' } : {})
  return {
    url: new URL(url, ORIGIN).href,
    method: init.method ?? 'GET',
    mode: init.mode ?? 'no-cors',
    destination: init.destination ?? 'image',
    headers,
  } as unknown as Request
}

describe('routeOf', () => {
  it.each([
    ['/objects/a.jpg?exp=1&sig=x', {}, 'image'],
    ['https://bucket.cos.example/a.jpg?sign=x', {}, 'image'],
    ['/i/a.jpg?w=320', {}, null],
    ['/p/a.jpg', {}, null],
    ['/objects/a.jpg?sig=x', { method: 'HEAD' }, null],
    ['/objects/a.jpg?sig=x', { range: true }, null],
    ['/objects/a.jpg?sig=x', { destination: '' }, null],
    ['/api/v1/urls', { method: 'POST', destination: '', mode: 'cors' }, 'urls'],
    ['/api/v1/urls/album/a.jpg?w=320', { destination: '', mode: 'cors' }, 'urls'],
    ['/api/v1/images?prefix=a/&width=480', { destination: '', mode: 'cors' }, 'urls'],
    ['/api/v1/tasks', { method: 'POST', destination: '', mode: 'cors' }, null],
    ['/?prefix=album/', { mode: 'navigate', destination: 'document' }, 'gallery'],
    ['/admin', { mode: 'navigate', destination: 'document' }, null],
  ])('%s %o -> %s', (url, init, route) => {
    expect(routeOf(event(url, init), ORIGIN)).toBe(route)
  })
})

describe('refreshedKeys', () => {
  it('reads the keys of a batch resolve with refresh, and of one resolve with ?refresh=1', async () => {
    const post = (body: unknown) =>
      new Request(`${ORIGIN}/api/v1/urls`, { method: 'POST', body: JSON.stringify(body) })
    expect(await refreshedKeys(post({ keys: ['a', 'b', 3], refresh: true }))).toEqual(['a', 'b'])
    expect(await refreshedKeys(post({ keys: ['a'] }))).toEqual([])
    expect(await refreshedKeys(new Request(`${ORIGIN}/api/v1/urls/album/a%20b.jpg?refresh=1`))).toEqual([
      'album/a b.jpg',
    ])
    expect(await refreshedKeys(new Request(`${ORIGIN}/api/v1/urls/album/a.jpg`))).toEqual([])
  })
})

describe('ImageWorker', () => {
  let fetched: Request[]
  let worker: ImageWorker
  let store: ImageStore
  const pending: Promise<unknown>[] = []
  const waitUntil = (work: Promise<unknown>) => void pending.push(work)
  const settle = async () => {
    while (pending.length) await pending.shift()
  }

  function answer(request: Request): Promise<Response> {
    fetched.push(request)
    if (new URL(request.url).pathname === '/api/v1/urls') {
      const item = (sig: string) => ({ key: 'a.jpg', etag: '"v1"', url: `/objects/a.jpg?sig=${sig}`, variant: 'original', size: 3, expires_at: 4e9 })
      const sig = fetched.filter((r) => r.url.endsWith('/api/v1/urls')).length
      return Promise.resolve(Response.json({ items: [item(`w${sig}`)], errors: [] }))
    }
    return Promise.resolve(new Response(new Uint8Array(3), { status: 200 }))
  }

  beforeEach(() => {
    vi.stubGlobal('indexedDB', new IDBFactory())
    fetched = []
    store = new ImageStore({ caches: new MemoryCaches().asCacheStorage(), origin: ORIGIN })
    worker = new ImageWorker(store, ORIGIN, answer)
  })

  async function resolve(body: unknown = { keys: ['a.jpg'] }): Promise<string> {
    const request = event('/api/v1/urls', { method: 'POST', destination: '', mode: 'cors' })
    const real = new Request(request.url, { method: 'POST', body: JSON.stringify(body) })
    const response = await worker.handle(real, waitUntil)!
    return ((await response.json()) as { items: { url: string }[] }).items[0]!.url
  }

  it('learns URLs from the resolve it passes on, then serves a rolled-over URL from its cache', async () => {
    const first = await resolve()
    await worker.handle(event(first), waitUntil)
    await settle()
    const second = await resolve()
    expect(second).not.toBe(first)
    const before = fetched.length
    const response = await worker.handle(event(second), waitUntil)!
    expect(response.status).toBe(200)
    expect(fetched.length).toBe(before)
  })

  it('passes an image URL it never saw handed out to the network as the page made it', async () => {
    const unknown = event('/objects/other.jpg?sig=x')
    await worker.handle(unknown, waitUntil)
    expect(fetched.at(-1)).toBe(unknown)
  })

  it('fetches again once the page asks to re-validate a key', async () => {
    const first = await resolve()
    await worker.handle(event(first), waitUntil)
    await settle()
    const again = await resolve({ keys: ['a.jpg'], refresh: true })
    const before = fetched.length
    await worker.handle(event(again), waitUntil)
    expect(fetched.length).toBe(before + 1)
  })

  it('leaves other requests to the browser', () => {
    expect(worker.handle(event('/i/a.jpg'), waitUntil)).toBeNull()
    expect(worker.handle(event('/admin', { mode: 'navigate', destination: 'document' }), waitUntil)).toBeNull()
  })
})
