import { describe, expect, it } from 'vitest'

import { fallsBackToProxy, firstSource, stableUrl } from '../imageDelivery'

describe('imageDelivery', () => {
  it('starts signed modes with a resolve and the others on their stable URL', () => {
    expect(firstSource('auto')).toBe('signed')
    expect(firstSource('direct')).toBe('signed')
    expect(firstSource('redirect')).toBe('redirect')
    expect(firstSource('proxy')).toBe('proxy')
  })

  it('makes each retry of a redirect a new URL, and keeps the proxy URL as it is', () => {
    expect(stableUrl('redirect', 'a/b c.png')).toBe('/i/a/b%20c.png')
    expect(stableUrl('redirect', 'a/b c.png', 2)).toBe('/i/a/b%20c.png?retry=2')
    expect(stableUrl('proxy', 'a/b c.png', 2)).toBe('/p/a/b%20c.png')
  })

  it('falls back to the proxy from auto and redirect only, and never from the proxy', () => {
    expect(fallsBackToProxy('auto', 'signed')).toBe(true)
    expect(fallsBackToProxy('auto', undefined)).toBe(true)
    expect(fallsBackToProxy('redirect', 'redirect')).toBe(true)
    expect(fallsBackToProxy('direct', 'signed')).toBe(false)
    expect(fallsBackToProxy('proxy', 'proxy')).toBe(false)
    expect(fallsBackToProxy('auto', 'proxy')).toBe(false)
  })
})
