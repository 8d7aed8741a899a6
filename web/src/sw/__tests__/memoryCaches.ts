/**
 * An in-memory CacheStorage for the worker's tests: the Cache API is not in happy-dom. Only
 * what the worker uses (open, keys, delete; match, put, delete, keys), keyed by URL.
 */
type Key = RequestInfo | URL

function urlOf(request: Key): string {
  return typeof request === 'string' ? request : request instanceof URL ? request.href : request.url
}

class MemoryCache {
  readonly entries = new Map<string, Response>()

  async match(request: Key): Promise<Response | undefined> {
    return this.entries.get(urlOf(request))?.clone()
  }

  async put(request: Key, response: Response): Promise<void> {
    this.entries.set(urlOf(request), response)
  }

  async delete(request: Key): Promise<boolean> {
    return this.entries.delete(urlOf(request))
  }

  async keys(): Promise<Request[]> {
    return [...this.entries.keys()].map((url) => new Request(url))
  }
}

export class MemoryCaches {
  readonly caches = new Map<string, MemoryCache>()

  async open(name: string): Promise<MemoryCache> {
    let cache = this.caches.get(name)
    if (!cache) this.caches.set(name, (cache = new MemoryCache()))
    return cache
  }

  async keys(): Promise<string[]> {
    return [...this.caches.keys()]
  }

  async delete(name: string): Promise<boolean> {
    return this.caches.delete(name)
  }

  asCacheStorage(): CacheStorage {
    return this as unknown as CacheStorage
  }
}
