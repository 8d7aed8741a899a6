import { IDBFactory } from 'fake-indexeddb'
import { describe, expect, it, vi } from 'vitest'

import { MemoryCaches } from '@/sw/__tests__/memoryCaches'

import { serviceWorkerSetting, setUpServiceWorker } from '../serviceWorker'

function registration(script: string) {
  return {
    active: { scriptURL: new URL(script, location.href).href },
    unregister: vi.fn(async () => true),
  }
}

function container(registrations: ReturnType<typeof registration>[] = []) {
  return {
    register: vi.fn(async () => ({})),
    getRegistrations: vi.fn(async () => registrations),
  }
}

async function openDatabase(factory: IDBFactory, name: string): Promise<void> {
  await new Promise<void>((resolve) => {
    const request = factory.open(name)
    request.onsuccess = () => {
      request.result.close()
      resolve()
    }
  })
}

describe('service worker setting', () => {
  it('is what the server wrote in the meta tag, or nothing', () => {
    const doc = document.implementation.createHTMLDocument()
    expect(serviceWorkerSetting(doc)).toBeNull()
    doc.head.innerHTML = '<meta name="service-worker" content="off">'
    expect(serviceWorkerSetting(doc)).toBe('off')
    doc.head.innerHTML = '<meta name="service-worker" content="on">'
    expect(serviceWorkerSetting(doc)).toBe('on')
  })
})

describe('setUpServiceWorker', () => {
  it('registers /sw.js with scope / when on', async () => {
    const sw = container()
    await setUpServiceWorker('on', { container: sw as unknown as ServiceWorkerContainer })
    expect(sw.register).toHaveBeenCalledWith('/sw.js', { scope: '/' })
  })

  it('when off, unregisters it and deletes its caches and database, and nothing else', async () => {
    const ours = registration('/sw.js')
    const other = registration('/other-worker.js')
    const sw = container([ours, other])
    const caches = new MemoryCaches()
    await caches.open('image-bytes-v1')
    await caches.open('someone-else')
    const indexedDB = new IDBFactory()
    await openDatabase(indexedDB, 'image-bytes')
    await openDatabase(indexedDB, 'image-url-cache')

    await setUpServiceWorker('off', {
      container: sw as unknown as ServiceWorkerContainer,
      caches: caches.asCacheStorage(),
      indexedDB,
    })

    expect(sw.register).not.toHaveBeenCalled()
    expect(ours.unregister).toHaveBeenCalled()
    expect(other.unregister).not.toHaveBeenCalled()
    expect(await caches.keys()).toEqual(['someone-else'])
    expect((await indexedDB.databases()).map((d) => d.name)).toEqual(['image-url-cache'])
  })

  it('does nothing without the setting or without service workers, and never throws', async () => {
    const sw = container()
    await setUpServiceWorker(null, { container: sw as unknown as ServiceWorkerContainer })
    expect(sw.register).not.toHaveBeenCalled()
    await setUpServiceWorker('on', {})
    sw.register.mockRejectedValueOnce(new TypeError('404'))
    await expect(setUpServiceWorker('on', { container: sw as unknown as ServiceWorkerContainer })).resolves.toBeUndefined()
  })
})
