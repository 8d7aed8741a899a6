import { describe, expect, it, vi } from 'vitest'

import { DeliveryLimit, isSameOrigin, probeRateLimit, type ImageRateLimit, type ProbeImage } from '../imageProbe'
import { RateLimitGate } from '../rateLimit'

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

  it('one probe at a time: failures meanwhile take its 429, which holds the shared wait', async () => {
    let answer!: (limit: ImageRateLimit | null) => void
    const probe = vi.fn<ProbeImage>(() => new Promise((resolve) => (answer = resolve)))
    const now = 1_000_000
    const limit = new DeliveryLimit(probe, new RateLimitGate(() => now))
    const a = limit.check('/i/a.png')
    const b = limit.check('/i/b.png')
    expect(probe).toHaveBeenCalledTimes(1)
    answer({ retryAfter: 3, seen: true })
    expect(await a).toEqual({ retryAfter: 3, seen: true })
    expect(await b).toEqual({ retryAfter: null, seen: false })
    expect(limit.gate.remaining()).toBe(3000)
    // While the wait runs, a failure is taken for the same limit without a request.
    expect(await limit.check('/i/c.png')).toEqual({ retryAfter: null, seen: false })
    expect(probe).toHaveBeenCalledTimes(1)
  })

  it('a probe that finds no 429 lets the others ask about their own URLs', async () => {
    const asked: string[] = []
    const probe = vi.fn<ProbeImage>(async (url) => {
      asked.push(url)
      return url === '/i/b.png' ? { retryAfter: 1, seen: true } : null
    })
    const limit = new DeliveryLimit(probe, new RateLimitGate(() => 0))
    const [a, b] = await Promise.all([limit.check('/i/a.png'), limit.check('/i/b.png')])
    expect(a).toBeNull()
    expect(b).toEqual({ retryAfter: 1, seen: true })
    expect(asked).toEqual(['/i/a.png', '/i/b.png'])
  })

  it('right after a wait, a probe that finds a token is no proof: the failure waits again', async () => {
    const answers: (ImageRateLimit | null)[] = [{ retryAfter: 1, seen: true }, null, null]
    const probe = vi.fn<ProbeImage>(async () => answers.shift() ?? null)
    let now = 0
    const limit = new DeliveryLimit(probe, new RateLimitGate(() => now))
    expect(await limit.check('/i/a.png')).toEqual({ retryAfter: 1, seen: true })
    // The wait (1 s) ended 500 ms ago: the images it held back are still coming in.
    now = 1500
    expect(await limit.check('/i/b.png')).toEqual({ retryAfter: 1, seen: false })
    expect(probe).toHaveBeenCalledTimes(2)
    // A wait after that one ended: a failure the probe finds no 429 for is a failure.
    now = 1500 + 1000 + 1000
    expect(await limit.check('/i/c.png')).toBeNull()
  })

  it('probes nothing without a probe or off the origin', async () => {
    expect(new DeliveryLimit(null).probes('/i/a.png')).toBe(false)
    expect(await new DeliveryLimit(null).check('/i/a.png')).toBeNull()
    const limit = new DeliveryLimit(async () => null)
    expect(limit.probes('/i/a.png')).toBe(true)
    expect(limit.probes('https://bucket.cos.example.com/a.png')).toBe(false)
  })
})
