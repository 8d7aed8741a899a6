/**
 * What the worker does with each request. Three kinds are its business:
 *
 * - the JSON that hands out URLs (`POST /api/v1/urls`, `GET /api/v1/urls/<key>`,
 *   `GET /api/v1/images`) and the gallery's index.html (its embedded first page): passed to
 *   the network as they are, and a copy of the answer read to learn which identity each URL
 *   serves. A resolve with `refresh` (the page saw a load fail) drops the keys' cached bytes;
 * - image loads (`destination: image`) of URLs it learned: answered from the cache by identity,
 *   else fetched and stored;
 * - nothing else: stable URLs (`/i/`, `/p/`, left to the HTTP cache), Range requests,
 *   the admin console and every other request never reach `respondWith`.
 *
 * An image URL the worker has no identity for is fetched with the page's own request,
 * unchanged. Written by hand rather than with Workbox: workbox-expiration bounds entries and
 * age but not bytes, so the byte bound and its LRU accounting would be ours anyway, and what
 * is left (a cache-first lookup under a computed key) is a few lines, not three packages.
 */
import { CACHE_KEY_PATH, learnedFromBody, learnedFromHtml, type LearnedUrl } from './identity'
import type { ImageStore } from './store'

export type Route = 'image' | 'urls' | 'gallery'

const URL_API = /\/api\/v1\/urls(\/.+)?$/
const LISTING_API = /\/api\/v1\/images$/
const STABLE = ['/i/', '/p/', CACHE_KEY_PATH]

/** Which of the worker's routes `request` takes, or null for none (the browser handles it). */
export function routeOf(request: Request, origin: string): Route | null {
  const url = new URL(request.url)
  const sameOrigin = url.origin === origin
  if (request.mode === 'navigate') {
    return sameOrigin && request.method === 'GET' && url.pathname === '/' ? 'gallery' : null
  }
  const api = URL_API.exec(url.pathname)
  if (api) return request.method === (api[1] ? 'GET' : 'POST') ? 'urls' : null
  if (LISTING_API.test(url.pathname)) return request.method === 'GET' ? 'urls' : null
  if (request.method !== 'GET' || request.destination !== 'image' || request.headers.has('range')) return null
  if (sameOrigin && STABLE.some((prefix) => url.pathname.startsWith(prefix))) return null
  return 'image'
}

/** Keys a resolve asks to re-validate (`refresh`): their cached bytes may be what failed. */
export async function refreshedKeys(request: Request): Promise<string[]> {
  const url = new URL(request.url)
  if (request.method === 'GET') {
    const refresh = url.searchParams.get('refresh')
    const single = URL_API.exec(url.pathname)?.[1]
    if (!single || !refresh || refresh === '0' || refresh === 'false') return []
    try {
      return [decodeURIComponent(single.slice(1))]
    } catch {
      return []
    }
  }
  try {
    const body: unknown = await request.clone().json()
    if (typeof body !== 'object' || body === null) return []
    const { refresh, keys } = body as { refresh?: unknown; keys?: unknown }
    return refresh === true && Array.isArray(keys) ? keys.filter((k): k is string => typeof k === 'string') : []
  } catch {
    return []
  }
}

export type WaitUntil = (work: Promise<unknown>) => void

export class ImageWorker {
  constructor(
    private readonly store: ImageStore,
    private readonly origin: string,
    private readonly fetch: (request: Request) => Promise<Response> = (r) => globalThis.fetch(r),
  ) {}

  /** The response to give `request`, or null to leave it to the browser. */
  handle(request: Request, waitUntil: WaitUntil): Promise<Response> | null {
    const route = routeOf(request, this.origin)
    if (route === 'image') return this.image(request, waitUntil)
    if (route === 'urls') return this.urls(request, waitUntil)
    if (route === 'gallery') return this.gallery(request, waitUntil)
    return null
  }

  private async image(request: Request, waitUntil: WaitUntil): Promise<Response> {
    let record
    try {
      record = await this.store.identityOf(request.url)
    } catch {
      record = undefined // storage unusable (cleared, private mode): the network, as without a worker
    }
    if (!record) return this.fetch(request)
    const hit = await this.store.match(record).catch(() => undefined)
    if (hit) {
      waitUntil(this.store.touchSoon())
      return hit
    }
    // The same URL seen with another etag: the HTTP cache may hold the old version's bytes.
    const response = await this.fetch(record.changed ? new Request(request, { cache: 'reload' }) : request)
    const stored = this.store
      .put(record, response.clone())
      .then(() => this.store.trimSoon())
      .catch(() => undefined)
    waitUntil(stored)
    return response
  }

  private learn(learned: Promise<LearnedUrl[]>): Promise<void> {
    return this.store
      .learn(learned)
      .then(() => this.store.trimSoon())
      .catch(() => undefined)
  }

  private async urls(request: Request, waitUntil: WaitUntil): Promise<Response> {
    const forgetting = refreshedKeys(request).then((keys) => this.store.forgetKeys(keys))
    const response = await this.fetch(request)
    await forgetting.catch(() => undefined) // before the page can load the images again
    if (response.ok) {
      const learned = response
        .clone()
        .json()
        .then((body: unknown) => learnedFromBody(body, this.origin))
      waitUntil(this.learn(learned))
    }
    return response
  }

  private async gallery(request: Request, waitUntil: WaitUntil): Promise<Response> {
    const response = await this.fetch(request)
    if (response.ok && (response.headers.get('content-type') ?? '').startsWith('text/html')) {
      const learned = response
        .clone()
        .text()
        .then((html) => learnedFromHtml(html, this.origin))
      waitUntil(this.learn(learned))
    }
    return response
  }
}
