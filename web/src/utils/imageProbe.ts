/**
 * Why did an `<img>` fail? The element never says (no status), so after a failure of a URL of
 * the app's own origin one HEAD request asks: a 429 means "wait `Retry-After`, then load the
 * same URL again", not "this URL is broken" (which would spend a try and, in the end, load the
 * proxy: more requests against a server that just asked for fewer).
 */
import { parseRetryAfter } from '@/api/client'

import { RateLimitGate, retryAfterDelay } from './rateLimit'

/** A 429 an image met: `retryAfter` in seconds, null when the server named no wait. */
export interface ImageRateLimit {
  retryAfter: number | null
  /**
   * False when the failure is only taken for the limit (`DeliveryLimit`): then `retryAfter`
   * null means "join the wait that runs".
   */
  seen: boolean
}

/** Asks the server once why `url` failed; null when the answer is not a 429 (or no answer). */
export type ProbeImage = (url: string) => Promise<ImageRateLimit | null>

/**
 * Whether `url` is on the page's own origin. Only those are probed: a storage or CDN URL would
 * need CORS to read its status, and each request there may be billed.
 */
export function isSameOrigin(url: string, page: string | undefined = globalThis.location?.href): boolean {
  if (!url || !page) return false
  try {
    const base = new URL(page)
    return base.protocol.startsWith('http') && new URL(url, base).origin === base.origin
  } catch {
    return false
  }
}

/**
 * HEAD `url` past the cache. `mode: 'same-origin'` follows a redirect only within the origin
 * (`/i/<key>` to a local `/objects/` URL, which has its own limit) and turns one to storage or a
 * CDN into an error before that request is sent.
 */
export async function probeRateLimit(
  url: string,
  fetchImpl: typeof fetch = (...args) => globalThis.fetch(...args),
): Promise<ImageRateLimit | null> {
  try {
    const response = await fetchImpl(url, {
      method: 'HEAD',
      mode: 'same-origin',
      redirect: 'follow',
      cache: 'no-store',
      credentials: 'same-origin',
    })
    if (response.status !== 429) return null
    return { retryAfter: parseRetryAfter(response.headers.get('Retry-After')), seen: true }
  } catch {
    return null
  }
}

/**
 * The page's side of the delivery routes' rate limit (`/i/`, `/p/`, `/objects/`): one shared
 * wait and one probe at a time. Some failures are taken for the limit without a 429 of their
 * own (`seen: false`): one while the wait runs or while another image's probe is out and finds
 * a 429, so a screenful of refused images costs a few probes, not one each; and one whose probe
 * is answered less than a wait after the wait ended, as the images it held back come in: the
 * probe then merely took a token that had just refilled (per worker process, too).
 */
export class DeliveryLimit {
  private running: Promise<ImageRateLimit | null> | null = null
  /** The latest wait held, in ms. */
  private lastWait = 0

  /** `probe` null: no probes, every `<img>` error is a failure. */
  constructor(
    private readonly probe: ProbeImage | null,
    readonly gate = new RateLimitGate(),
  ) {}

  /** Whether a failure of `url` is worth a probe: probes are on and it is of the page's origin. */
  probes(url: string): boolean {
    return this.probe !== null && isSameOrigin(url)
  }

  /** Whether `url` failed for the rate limit; a 429 found here holds the shared wait at once. */
  async check(url: string): Promise<ImageRateLimit | null> {
    if (!this.probe) return null
    if (this.gate.remaining() > 0) return { retryAfter: null, seen: false }
    if (this.running) {
      const other = await this.running
      if (!other) return this.check(url) // not the limit there: ask about this URL
      return { retryAfter: other.seen ? null : other.retryAfter, seen: false }
    }
    const mine = this.ask(this.probe, url)
    this.running = mine
    try {
      return await mine
    } finally {
      if (this.running === mine) this.running = null
    }
  }

  private async ask(probe: ProbeImage, url: string): Promise<ImageRateLimit | null> {
    const limit = await probe(url).catch(() => null)
    if (limit) {
      this.lastWait = retryAfterDelay(limit.retryAfter)
      this.gate.hold(this.lastWait)
      return limit
    }
    if (this.gate.openFor() < this.lastWait) return { retryAfter: this.lastWait / 1000, seen: false }
    return null
  }
}
