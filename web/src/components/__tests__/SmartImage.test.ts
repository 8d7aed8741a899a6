import { enableAutoUnmount, flushPromises, mount } from '@vue/test-utils'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { h } from 'vue'

import { DeliveryLimit } from '@/utils/imageProbe'
import { deliveryLimitKey, imageResolverKey } from '@/utils/imageServices'
import { ResolveError, type Resolver } from '@/utils/resolver'
import { ORIGINAL } from '@/utils/variants'

import { MockIntersectionObserver } from '../../../tests/intersectionObserver'
import SmartImage from '../SmartImage.vue'

function fakeResolver() {
  const now = Math.floor(Date.now() / 1000)
  return {
    resolve: vi.fn(async (key: string) => ({
      key,
      url: `/objects/${key}?sig=1`,
      expires_at: now + 7200,
      refresh_at: now + 3600,
      etag: null,
    })),
    invalidate: vi.fn(async () => {}),
  }
}

function mountImage(
  props: Record<string, unknown> = {},
  resolver = fakeResolver(),
  slots = {},
  deliveryLimit = new DeliveryLimit(null),
) {
  const wrapper = mount(SmartImage, {
    props: { imageKey: 'cats/tom.jpg', alt: 'Tom the cat', ...props },
    slots,
    global: {
      provide: {
        [imageResolverKey as symbol]: resolver as unknown as Resolver,
        [deliveryLimitKey as symbol]: deliveryLimit,
      },
    },
    attachTo: document.body,
  })
  return { wrapper, resolver, root: () => wrapper.get('[data-testid="smart-image"]') }
}

enableAutoUnmount(afterEach)

describe('SmartImage', () => {
  beforeEach(() => MockIntersectionObserver.install())
  afterEach(() => {
    document.body.innerHTML = ''
  })

  it('shows the placeholder until the picture has loaded, then fades it in', async () => {
    const { wrapper, root } = mountImage({ lazy: false })
    expect(root().attributes('data-state')).toBe('resolving')
    expect(root().attributes('aria-busy')).toBe('true')
    expect(wrapper.find('[data-testid="smart-image-placeholder"]').exists()).toBe(true)
    expect(wrapper.find('img').exists()).toBe(false)

    await flushPromises()
    const img = wrapper.get('img')
    expect(root().attributes('data-state')).toBe('loading')
    expect(img.attributes('src')).toBe('/objects/cats/tom.jpg?sig=1')
    expect(img.attributes('alt')).toBe('Tom the cat')
    expect(img.classes()).not.toContain('is-visible')
    expect(wrapper.find('[data-testid="smart-image-placeholder"]').exists()).toBe(true)

    await img.trigger('load')
    expect(root().attributes('data-state')).toBe('loaded')
    expect(root().attributes('aria-busy')).toBe('false')
    expect(wrapper.get('img').classes()).toContain('is-visible')
    expect(wrapper.find('[data-testid="smart-image-placeholder"]').exists()).toBe(false)
    expect(wrapper.emitted('load')).toEqual([['/objects/cats/tom.jpg?sig=1']])
  })

  it('renders a custom placeholder slot', () => {
    const { wrapper } = mountImage({ lazy: false }, fakeResolver(), {
      placeholder: () => h('span', { class: 'custom' }, 'wait'),
    })
    expect(wrapper.find('.custom').text()).toBe('wait')
  })

  it('is lazy: resolves nothing until it comes near the viewport', async () => {
    const { wrapper, resolver, root } = mountImage({ rootMargin: '300px' })
    await flushPromises()
    expect(root().attributes('data-state')).toBe('idle')
    expect(resolver.resolve).not.toHaveBeenCalled()
    expect(wrapper.find('img').exists()).toBe(false)

    const observer = MockIntersectionObserver.observing(root().element)
    expect(observer?.rootMargin).toBe('300px')

    MockIntersectionObserver.intersect([root().element], false)
    await flushPromises()
    expect(resolver.resolve).not.toHaveBeenCalled()

    MockIntersectionObserver.intersect([root().element], true)
    await flushPromises()
    expect(resolver.resolve).toHaveBeenCalledExactlyOnceWith('cats/tom.jpg', { refresh: false, variant: ORIGINAL })
    expect(root().attributes('data-state')).toBe('loading')
    expect(wrapper.get('img').attributes('src')).toBe('/objects/cats/tom.jpg?sig=1')

    // Leaving the viewport again does not unload it.
    MockIntersectionObserver.intersect([root().element], false)
    await flushPromises()
    expect(wrapper.find('img').exists()).toBe(true)
  })

  it('stops observing when unmounted', async () => {
    const { wrapper, root } = mountImage()
    await flushPromises()
    const element = root().element
    const observer = MockIntersectionObserver.observing(element)
    expect(observer).toBeDefined()
    wrapper.unmount()
    expect(observer?.targets.has(element)).toBe(false)
  })

  it('observes again with a new root margin', async () => {
    const { wrapper, root } = mountImage({ rootMargin: '100px' })
    await flushPromises()
    expect(MockIntersectionObserver.observing(root().element)?.rootMargin).toBe('100px')
    await wrapper.setProps({ rootMargin: '600px' })
    await flushPromises()
    expect(MockIntersectionObserver.observing(root().element)?.rootMargin).toBe('600px')
    expect(MockIntersectionObserver.instances.filter((o) => o.targets.size)).toHaveLength(1)
  })

  it('loads at once where there is no IntersectionObserver', async () => {
    const original = globalThis.IntersectionObserver
    Reflect.deleteProperty(globalThis, 'IntersectionObserver')
    try {
      const { resolver, root } = mountImage()
      await flushPromises()
      expect(resolver.resolve).toHaveBeenCalledOnce()
      expect(root().attributes('data-state')).toBe('loading')
    } finally {
      globalThis.IntersectionObserver = original
    }
  })

  it('shows the error slot with a working retry button when the image cannot be had', async () => {
    const resolver = fakeResolver()
    resolver.resolve.mockRejectedValueOnce(new ResolveError('cats/tom.jpg', 'not_found', 'missing'))
    const { wrapper, root } = mountImage({ lazy: false }, resolver)
    await flushPromises()

    expect(root().attributes('data-state')).toBe('error')
    expect(wrapper.find('img').exists()).toBe(false)
    expect(wrapper.find('[data-testid="smart-image-placeholder"]').exists()).toBe(false)
    expect(wrapper.get('[data-testid="smart-image-error"]').text()).toContain('Not found.')
    expect(wrapper.emitted('error')?.[0]?.[0]).toBeInstanceOf(ResolveError)

    const retry = wrapper.get('[data-testid="smart-image-retry"]')
    expect(retry.element.tagName).toBe('BUTTON')
    expect(retry.attributes('aria-label')).toBe('Retry loading Tom the cat')
    await retry.trigger('click')
    await flushPromises()
    expect(resolver.resolve).toHaveBeenCalledTimes(2)
    expect(root().attributes('data-state')).toBe('loading')
  })

  it('passes error and retry to a custom error slot', async () => {
    const resolver = fakeResolver()
    resolver.resolve.mockRejectedValueOnce(new ResolveError('k', 'path_traversal', 'bad'))
    const { wrapper } = mountImage({ lazy: false }, resolver, {
      error: (props: { message: string; retry: () => void }) =>
        h('button', { class: 'mine', onClick: props.retry }, props.message),
    })
    await flushPromises()
    const button = wrapper.get('button.mine')
    expect(button.text()).toBe('This image key is not valid.')
    await button.trigger('click')
    expect(resolver.resolve).toHaveBeenCalledTimes(2)
  })

  it('a failed <img> goes into the retry path instead of showing a broken image', async () => {
    vi.useFakeTimers()
    try {
      const { wrapper, resolver, root } = mountImage({ lazy: false })
      await vi.advanceTimersByTimeAsync(0)
      await wrapper.get('img').trigger('error')
      expect(resolver.invalidate).toHaveBeenCalledWith('cats/tom.jpg', ORIGINAL)
      expect(root().attributes('data-state')).toBe('resolving')
      await vi.advanceTimersByTimeAsync(1000)
      expect(resolver.resolve).toHaveBeenLastCalledWith('cats/tom.jpg', { refresh: true, variant: ORIGINAL })
    } finally {
      vi.useRealTimers()
    }
  })

  it('a 429 keeps the placeholder, shows when it goes again, then loads the same URL', async () => {
    vi.useFakeTimers({ now: Date.UTC(2025, 0, 1) })
    try {
      const probe = vi.fn(async () => ({ retryAfter: 2, seen: true }))
      const limit = new DeliveryLimit(probe)
      const { wrapper, root } = mountImage({ lazy: false, mode: 'redirect' }, fakeResolver(), {}, limit)
      await wrapper.get('img').trigger('error')
      await vi.advanceTimersByTimeAsync(0)
      expect(probe).toHaveBeenCalledWith('/i/cats/tom.jpg')
      expect(root().attributes('data-state')).toBe('loading')
      expect(root().attributes('data-waiting-until')).toBe(String(Date.UTC(2025, 0, 1) + 2000))
      expect(wrapper.find('[data-testid="smart-image-error"]').exists()).toBe(false)
      expect(wrapper.find('[data-testid="smart-image-placeholder"]').exists()).toBe(true)
      await vi.advanceTimersByTimeAsync(4000)
      expect(root().attributes('data-waiting-until')).toBeUndefined()
      expect(wrapper.get('img').attributes('src')).toBe('/i/cats/tom.jpg')
      await wrapper.get('img').trigger('load')
      expect(root().attributes('data-state')).toBe('loaded')
    } finally {
      vi.useRealTimers()
    }
  })

  it('uses the proxy URL directly in proxy mode', async () => {
    const { wrapper, resolver } = mountImage({ lazy: false, mode: 'proxy', imageKey: 'a b/c.png' })
    await flushPromises()
    expect(resolver.resolve).not.toHaveBeenCalled()
    expect(wrapper.get('img').attributes('src')).toBe('/p/a%20b/c.png')
  })

  it('reserves its box from width and height, so nothing shifts', () => {
    const { root, wrapper } = mountImage({ width: 300, height: 200, crossorigin: 'anonymous', lazy: false })
    expect(root().attributes('style')).toContain('aspect-ratio: 300 / 200')
    expect(root().attributes('style')).toContain('width: 300px')
    expect(root().classes()).toContain('has-box')
    wrapper.unmount()

    const { root: ratioRoot } = mountImage({ aspectRatio: '4 / 3' })
    expect(ratioRoot().attributes('style')).toContain('aspect-ratio: 4 / 3')
  })

  it('sets crossorigin only when asked', async () => {
    const { wrapper } = mountImage({ lazy: false, crossorigin: 'anonymous' })
    await flushPromises()
    expect(wrapper.get('img').attributes('crossorigin')).toBe('anonymous')
    wrapper.unmount()
    const { wrapper: plain } = mountImage({ lazy: false })
    await flushPromises()
    expect(plain.get('img').attributes('crossorigin')).toBeUndefined()
  })
})
