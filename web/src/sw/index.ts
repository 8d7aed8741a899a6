/// <reference lib="webworker" />
/**
 * The service worker, built to `/sw.js` (vite.config.ts) and registered by
 * `utils/serviceWorker.ts`: it answers image loads from a cache keyed by what the URL serves
 * (key, etag, variant), not by the URL, so the new signature a URL gets at each window rollover
 * costs no bytes. See `worker.ts` for what it intercepts and `store.ts` for the cache.
 */
import { CACHE_NAME, CACHE_PREFIX } from './names'
import { ImageStore } from './store'
import { ImageWorker } from './worker'

declare const self: ServiceWorkerGlobalScope

const origin = self.location.origin
const worker = new ImageWorker(new ImageStore({ caches: self.caches, origin }), origin)

// A new version takes over at once: the cache layout is versioned by CACHE_NAME, so an old page
// under a new worker loses nothing but cached bytes of the old layout.
self.addEventListener('install', () => void self.skipWaiting())

self.addEventListener('activate', (event) => {
  event.waitUntil(
    (async () => {
      for (const name of await self.caches.keys()) {
        if (name.startsWith(CACHE_PREFIX) && name !== CACHE_NAME) await self.caches.delete(name)
      }
      await self.clients.claim()
    })(),
  )
})

self.addEventListener('fetch', (event) => {
  const response = worker.handle(event.request, (work) => event.waitUntil(work))
  if (response) event.respondWith(response)
})
