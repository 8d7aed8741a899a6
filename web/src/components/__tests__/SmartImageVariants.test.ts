import { enableAutoUnmount, flushPromises, mount } from '@vue/test-utils'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'

import { DeliveryLimit } from '@/utils/imageProbe'
import { deliveryLimitKey, imageResolverKey } from '@/utils/imageServices'
import type { ResolveOptions, Resolver } from '@/utils/resolver'
import { variantTag } from '@/utils/variants'

import { MockIntersectionObserver } from '../../../tests/intersectionObserver'
import SmartImage from '../SmartImage.vue'

const HASH = 'mIYCpZ5weoZ3h4iHd4iHeI+I94h4'

function fakeResolver() {
  const now = Math.floor(Date.now() / 1000)
  return {
    resolve: vi.fn(async (key: string, options?: ResolveOptions) => {
      const tag = variantTag(options?.variant ?? { width: null, format: 'original' })
      return { key, variant: tag, url: `/objects/${key}?v=${tag}`, expires_at: now + 7200, refresh_at: now + 3600, etag: null }
    }),
    invalidate: vi.fn(async () => {}),
  }
}

/** Lays the image's box out at `rect` (happy-dom has no layout). */
function layOut(rect: { top: number; width: number; height: number }) {
  vi.spyOn(HTMLElement.prototype, 'getBoundingClientRect').mockReturnValue({
    ...rect,
    left: 0,
    right: rect.width,
    bottom: rect.top + rect.height,
    x: 0,
    y: rect.top,
    toJSON: () => ({}),
  } as DOMRect)
}

function mountImage(props: Record<string, unknown>, resolver = fakeResolver()) {
  const wrapper = mount(SmartImage, {
    props: { imageKey: 'p/a.jpg', alt: 'a', variant: 'fit', sourceWidth: 3000, sourceHeight: 2000, ...props },
    global: {
      provide: {
        [imageResolverKey as symbol]: resolver as unknown as Resolver,
        [deliveryLimitKey as symbol]: new DeliveryLimit(null),
      },
    },
    attachTo: document.body,
  })
  return { wrapper, resolver, root: () => wrapper.get('[data-testid="smart-image"]') }
}

enableAutoUnmount(afterEach)

describe('SmartImage variants', () => {
  beforeEach(() => {
    MockIntersectionObserver.install()
    vi.stubGlobal('devicePixelRatio', 2)
  })
  afterEach(() => {
    document.body.innerHTML = ''
  })

  it('asks for its box × devicePixelRatio, with srcset and sizes, eagerly on the first screen', async () => {
    layOut({ top: 100, width: 191, height: 127 })
    const { wrapper, resolver, root } = mountImage({ priority: 'first-screen' })
    await flushPromises()
    // In view on mount: no waiting for the observer.
    expect(resolver.resolve).toHaveBeenCalledWith('p/a.jpg', { refresh: false, variant: { width: 480, format: 'webp' } })
    const img = wrapper.get('img')
    expect(img.attributes('srcset')).toBe('/objects/p/a.jpg?v=w480.webp 480w')
    expect(img.attributes('sizes')).toBe('191px')
    expect(img.attributes('loading')).toBe('eager')
    expect(img.attributes('fetchpriority')).toBe('high')
    // The box is reserved at the original's ratio before a byte arrives.
    expect(root().attributes('style')).toContain('aspect-ratio: 3000 / 2000')
  })

  it('stays lazy below the first screen and lists the ladder in redirect mode', async () => {
    layOut({ top: 5000, width: 191, height: 127 })
    const { wrapper, resolver, root } = mountImage({ priority: 'first-screen', mode: 'redirect' })
    await flushPromises()
    expect(wrapper.find('img').exists()).toBe(false)
    MockIntersectionObserver.intersect([root().element], true)
    await flushPromises()
    expect(resolver.resolve).not.toHaveBeenCalled() // redirect URLs need no resolve
    const img = wrapper.get('img')
    expect(img.attributes('src')).toBe('/i/p/a.jpg?w=480&f=auto')
    expect(img.attributes('loading')).toBe('lazy')
    expect(img.attributes('fetchpriority')).toBeUndefined()
    const candidates = img.attributes('srcset')!.split(', ')
    expect(candidates[0]).toBe('/i/p/a.jpg?w=64&f=auto 64w')
    expect(candidates.at(-1)).toBe('/i/p/a.jpg?w=2560&f=auto 2560w') // 3000 px wide: the top step
  })

  it('shows the ThumbHash until the bytes arrive', async () => {
    layOut({ top: 0, width: 191, height: 127 })
    const { wrapper } = mountImage({ priority: 'high', placeholder: HASH })
    const thumb = wrapper.get('[data-testid="smart-image-thumbhash"]')
    expect(thumb.attributes('style')).toContain('data:image/png;base64,')
    expect(wrapper.find('[data-testid="smart-image-placeholder"]').exists()).toBe(false)
    await flushPromises()
    await wrapper.get('img').trigger('load')
    expect(wrapper.get('img').classes()).toContain('is-visible')
  })
})
