import { afterEach, describe, expect, it, vi } from 'vitest'

import { createAdminApi } from '../admin'
import { ApiError, parseRetryAfter, request } from '../client'
import { listImages, resolveUrl, resolveUrls } from '../images'

function respond(status: number, body: unknown, headers: Record<string, string> = {}) {
  return new Response(body === undefined ? null : JSON.stringify(body), {
    status,
    headers: { 'Content-Type': 'application/json', ...headers },
  })
}

describe('api client', () => {
  afterEach(() => vi.unstubAllGlobals())

  it('turns the error envelope into an ApiError with code, message and Retry-After', async () => {
    vi.stubGlobal(
      'fetch',
      vi.fn(async () =>
        respond(429, { error: { code: 'rate_limited', message: 'Slow down', details: { limit: 5 } } }, {
          'Retry-After': '7',
        }),
      ),
    )
    const error = (await request('/api/v1/tasks').catch((e: unknown) => e)) as ApiError
    expect(error).toBeInstanceOf(ApiError)
    expect(error).toMatchObject({
      kind: 'http',
      status: 429,
      code: 'rate_limited',
      message: 'Slow down',
      details: { limit: 5 },
      retryAfter: 7,
    })
    expect(error.transient).toBe(true)
  })

  it('keeps the status when the error body is not JSON', async () => {
    vi.stubGlobal('fetch', vi.fn(async () => new Response('<html>bad gateway</html>', { status: 502, statusText: 'Bad Gateway' })))
    const error = (await request('/x').catch((e: unknown) => e)) as ApiError
    expect(error).toMatchObject({ kind: 'http', status: 502, code: null, message: 'Bad Gateway' })
  })

  it('reports a network failure as such', async () => {
    vi.stubGlobal('fetch', vi.fn(async () => Promise.reject(new TypeError('Failed to fetch'))))
    const error = (await request('/x').catch((e: unknown) => e)) as ApiError
    expect(error.kind).toBe('network')
    expect(error.transient).toBe(true)
  })

  it('times out', async () => {
    vi.useFakeTimers()
    try {
      vi.stubGlobal(
        'fetch',
        vi.fn(
          (_url: string, init: RequestInit) =>
            new Promise((_, reject) => init.signal?.addEventListener('abort', () => reject(new DOMException('aborted', 'AbortError')))),
        ),
      )
      const pending = request('/x', { timeoutMs: 1000 }).catch((e: unknown) => e)
      await vi.advanceTimersByTimeAsync(1000)
      expect(await pending).toMatchObject({ kind: 'timeout' })
    } finally {
      vi.useRealTimers()
    }
  })

  it('parses Retry-After as seconds or an HTTP date', () => {
    const now = Date.UTC(2025, 0, 1, 0, 0, 0)
    expect(parseRetryAfter('120', now)).toBe(120)
    expect(parseRetryAfter('Wed, 01 Jan 2025 00:00:30 GMT', now)).toBe(30)
    expect(parseRetryAfter('garbage', now)).toBeNull()
    expect(parseRetryAfter(null, now)).toBeNull()
  })

  it('builds the contract URLs: per-segment encoding, query, JSON bodies, bearer token', async () => {
    const fetch = vi.fn(async () => respond(200, { items: [], next_cursor: null, errors: [] }))
    vi.stubGlobal('fetch', fetch)

    await listImages({ prefix: 'a b/', cursor: 'c1', limit: 50 })
    await resolveUrl('dir/ä #1.png', true)
    await resolveUrls(['a', 'b'])
    const admin = createAdminApi(() => 'secret')
    await admin.batchRefresh(['x', 'y'])
    await admin.flushKey('p/q r.png')
    await admin.flushCache()

    const calls = fetch.mock.calls as unknown as [string, RequestInit][]
    expect(calls[0]?.[0]).toBe('/api/v1/images?prefix=a+b%2F&cursor=c1&limit=50')
    expect(calls[1]?.[0]).toBe('/api/v1/urls/dir/%C3%A4%20%231.png?refresh=1')
    expect(calls[2]?.[1]).toMatchObject({ method: 'POST', body: JSON.stringify({ keys: ['a', 'b'], refresh: false }) })
    expect(calls[3]?.[0]).toBe('/api/v1/tasks/batch-refresh')
    expect(calls[3]?.[1].body).toBe(JSON.stringify({ image_keys: ['x', 'y'] }))
    expect((calls[3]?.[1].headers as Record<string, string>).Authorization).toBe('Bearer secret')
    expect(calls[4]?.[0]).toBe('/api/v1/cache/p/q%20r.png')
    expect(calls[4]?.[1].method).toBe('DELETE')
    expect(calls[5]?.[0]).toBe('/api/v1/cache')
    // No token header on public calls.
    expect((calls[0]?.[1].headers as Record<string, string>).Authorization).toBeUndefined()
  })
})
