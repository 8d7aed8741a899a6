import { enableAutoUnmount, flushPromises, mount } from '@vue/test-utils'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { createMemoryHistory, createRouter } from 'vue-router'

import { setLocale } from '@/i18n'
import { routes } from '@/router'
import { useSelection } from '@/stores/selection'

import { MockIntersectionObserver } from '../../tests/intersectionObserver'
import App from '../App.vue'

enableAutoUnmount(afterEach)

function json(body: unknown, status = 200) {
  return new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } })
}

async function mountApp(path: string) {
  const router = createRouter({ history: createMemoryHistory(), routes })
  await router.push(path)
  await router.isReady()
  const wrapper = mount(App, { global: { plugins: [router] }, attachTo: document.body })
  await flushPromises()
  return { wrapper, router }
}

describe('App', () => {
  beforeEach(() => {
    MockIntersectionObserver.install()
    useSelection().clear()
    vi.stubGlobal(
      'fetch',
      vi.fn(async (input: string) => {
        const url = new URL(input, 'http://localhost')
        if (url.pathname === '/api/v1/images') {
          return json({ items: [{ key: 'a.png', size: 1, etag: null, content_type: 'image/png', last_modified: null }], next_cursor: null })
        }
        return json({ error: { code: 'unauthorized', message: 'no', details: null } }, 401)
      }),
    )
  })
  afterEach(async () => {
    await setLocale('en')
    document.body.innerHTML = ''
  })

  it('opens on the gallery and switches language, Element Plus included', async () => {
    const { wrapper } = await mountApp('/')
    expect(wrapper.find('[data-testid="gallery-grid"]').exists()).toBe(true)
    expect(wrapper.get('[data-testid="image-card"]').attributes('data-key')).toBe('a.png')
    expect(document.title).toBe('Gallery · Image URL Cache')

    const zh = wrapper.get('[data-testid="language-zh-CN"]')
    expect(zh.text()).toBe('简体中文')
    await zh.element.closest('label')!.querySelector('input')!.dispatchEvent(new Event('change'))
    await vi.waitFor(() => expect(document.documentElement.lang).toBe('zh-CN'))
    await flushPromises()
    expect(wrapper.get('[data-testid="nav-gallery"]').text()).toBe('图库')
    expect(document.documentElement.lang).toBe('zh-CN')
    expect(document.title).toBe('图库 · 图片 URL 缓存')
    // Element Plus's own strings follow (the empty image viewer has none; the input's clear
    // icon has no text), so check the config provider got the zh-cn locale.
    const { useI18n } = await import('@/i18n')
    expect(useI18n().elementLocale.value.name).toBe('zh-cn')
  })

  it('puts the filter and delivery mode in the URL', async () => {
    const { router } = await mountApp('/?prefix=albums/&mode=proxy')
    expect(router.currentRoute.value.query).toMatchObject({ prefix: 'albums/', mode: 'proxy' })
    const fetch = vi.mocked(globalThis.fetch)
    expect(String(fetch.mock.calls[0]?.[0])).toContain('prefix=albums%2F')
  })

  it('hands the gallery selection to the admin batch refresh', async () => {
    const { wrapper, router } = await mountApp('/')
    await wrapper.get('[data-testid="selection-toggle"]').trigger('click')
    await flushPromises()
    await wrapper.get('[data-testid="image-card-button"]').trigger('click')
    await wrapper.get('[data-testid="send-to-batch-refresh"]').trigger('click')
    await vi.waitFor(() => expect(router.currentRoute.value.name).toBe('admin'))
    await flushPromises()
    expect(useSelection().keys.value).toEqual(['a.png'])
    expect(sessionStorage.getItem('iuc.selection')).toBe('["a.png"]')
    // Not signed in: the lazily loaded admin view asks for the token first.
    expect(wrapper.find('[data-testid="admin-token-input"]').exists()).toBe(true)
  })
})
