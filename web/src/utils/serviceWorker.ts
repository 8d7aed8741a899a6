/**
 * Registers the image service worker (`/sw.js`, web/src/sw/) or removes it, as the server
 * says in `<meta name="service-worker" content="on|off">` (SERVICE_WORKER). Off: every
 * registration of `/sw.js` is unregistered and the worker's caches and database deleted, so
 * turning it off leaves nothing behind. Without the tag (`npm run dev`, `vite preview`)
 * nothing happens; `main.ts` calls this only in production builds.
 */
import { CACHE_PREFIX, DB_NAME, SCRIPT_URL } from '@/sw/names'

export type ServiceWorkerSetting = 'on' | 'off' | null

export function serviceWorkerSetting(doc: Document = document): ServiceWorkerSetting {
  const value = doc.querySelector<HTMLMetaElement>('meta[name="service-worker"]')?.content
  return value === 'on' || value === 'off' ? value : null
}

export interface ServiceWorkerEnv {
  container?: ServiceWorkerContainer
  caches?: CacheStorage
  indexedDB?: IDBFactory
}

function browserEnv(): ServiceWorkerEnv {
  return {
    container: 'serviceWorker' in navigator ? navigator.serviceWorker : undefined,
    caches: 'caches' in globalThis ? globalThis.caches : undefined,
    indexedDB: 'indexedDB' in globalThis ? globalThis.indexedDB : undefined,
  }
}

/** Unregisters `/sw.js` and deletes what it stored; returns how many registrations went. */
export async function removeServiceWorker(env: ServiceWorkerEnv = browserEnv()): Promise<number> {
  let removed = 0
  for (const registration of (await env.container?.getRegistrations()) ?? []) {
    const script = (registration.active ?? registration.waiting ?? registration.installing)?.scriptURL ?? ''
    if (new URL(script, location.href).pathname === SCRIPT_URL && (await registration.unregister())) removed++
  }
  for (const name of (await env.caches?.keys()) ?? []) {
    if (name.startsWith(CACHE_PREFIX)) await env.caches?.delete(name)
  }
  // Resolves on success, error or `blocked` (a worker still holding it open closes it on
  // `versionchange` and the deletion then completes): never waits forever.
  await new Promise<void>((resolve) => {
    const request = env.indexedDB?.deleteDatabase(DB_NAME)
    if (!request) return resolve()
    request.onsuccess = request.onerror = request.onblocked = () => resolve()
  })
  return removed
}

/** Registers or removes the worker as the page's setting says. Never throws. */
export async function setUpServiceWorker(
  setting: ServiceWorkerSetting = serviceWorkerSetting(),
  env: ServiceWorkerEnv = browserEnv(),
): Promise<void> {
  if (!env.container || setting === null) return
  try {
    if (setting === 'on') await env.container.register(SCRIPT_URL, { scope: '/' })
    else await removeServiceWorker(env)
  } catch {
    // No worker (private mode, an update check that failed): the page works as without one.
  }
}
