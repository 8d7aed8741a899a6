import { describe, expect, it, vi } from 'vitest'

import { isSameOrigin, probeRateLimit } from '../imageProbe'

const PAGE = 'http://127.0.0.1:8080/gallery'

describe('imageProbe', () => {
  it('probes only URLs of the page origin', () => {
    expect(isSameOrigin('/i/a.png', PAGE)).toBe(true)
    expect(isSameOrigin('http://127.0.0.1:8080/objects/a.png?sig=1', PAGE)).toBe(true)
    expect(isSameOrigin('https://bucket.cos.ap-guangzhou.myqcloud.com/a.png?sign=1', PAGE)).toBe(false)
    expect(isSameOrigin('http://127.0.0.1:9000/i/a.png', PAGE)).toBe(false)
    expect(isSameOrigin('//cdn.example.com/a.png', PAGE)).toBe(false)
    expect(isSameOrigin('data:image/png;base64,AAAA', PAGE)).toBe(false)
    expect(isSameOrigin('', PAGE)).toBe(false)
    expect(isSameOrigin('/i/a.png', 'about:blank')).toBe(false)
  })

  it('asks with one HEAD past the cache, following redirects only within the origin', async () => {
    const fetchImpl = vi.fn<typeof fetch>(
      async () => new Response(null, { status: 429, headers: { 'Retry-After': '7' } }),
    )
    expect(await probeRateLimit('/i/a.png', fetchImpl)).toEqual({ retryAfter: 7, seen: true })
    expect(fetchImpl).toHaveBeenCalledTimes(1)
    expect(fetchImpl).toHaveBeenCalledWith('/i/a.png', {
      method: 'HEAD',
      mode: 'same-origin',
      redirect: 'follow',
      cache: 'no-store',
      credentials: 'same-origin',
    })
  })

  it('reads a Retry-After date, and a 429 without one', async () => {
    const inTen = new Date(Date.now() + 10_000).toUTCString()
    const dated = await probeRateLimit('/p/a.png', async () => new Response(null, { status: 429, headers: { 'Retry-After': inTen } }))
    expect(dated?.retryAfter).toBeGreaterThanOrEqual(9)
    expect(dated?.retryAfter).toBeLessThanOrEqual(10)
    expect(await probeRateLimit('/p/a.png', async () => new Response(null, { status: 429 }))).toEqual({
      retryAfter: null,
      seen: true,
    })
  })

  it('is no rate limit for any other answer, or none', async () => {
    for (const status of [200, 403, 404, 503]) {
      expect(await probeRateLimit('/i/a.png', async () => new Response(null, { status }))).toBeNull()
    }
    // A redirect off the origin in same-origin mode: fetch rejects before sending it.
    const offOrigin = async (): Promise<Response> => {
      throw new TypeError('Failed to fetch')
    }
    expect(await probeRateLimit('/i/a.png', offOrigin)).toBeNull()
  })
})
