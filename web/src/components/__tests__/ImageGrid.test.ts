import { enableAutoUnmount, flushPromises, mount } from '@vue/test-utils'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { nextTick } from 'vue'

import { ApiError } from '@/api/client'
import type { ImageItem } from '@/api/types'
import { imageResolverKey } from '@/utils/imageServices'
import { Resolver } from '@/utils/resolver'

import { MockIntersectionObserver } from '../../../tests/intersectionObserver'
import ImageGrid from '../ImageGrid.vue'

enableAutoUnmount(afterEach)

function item(key: string): ImageItem {
  return { key, size: 2048, etag: '"e"', content_type: 'image/png', last_modified: 1_700_000_000 }
}

/** A listing of `total` keys under `albums/`, served in pages of `limit`. */
function listing(total: number) {
  const keys = Array.from({ length: total }, (_, i) => `albums/${String(i).padStart(3, '0')}.png`)
  return vi.fn(async ({ prefix, cursor, limit }: { prefix: string; cursor: string | null; limit: number }) => {
    const matching = keys.filter((key) => key.startsWith(prefix))
    const start = cursor ? Number(cursor) : 0
    const end = start + limit
    return {
      items: matching.slice(start, end).map(item),
      next_cursor: end < matching.length ? String(end) : null,
    }
  })
}

const resolver = {
  resolve: vi.fn(() => new Promise(() => {})), // images stay "resolving": the grid is under test
  invalidate: vi.fn(async () => {}),
  seed: vi.fn(),
} as unknown as Resolver

function mountGrid(props: Record<string, unknown>, imageResolver: Resolver = resolver) {
  return mount(ImageGrid, {
    props: { pageSize: 10, ...props },
    global: { provide: { [imageResolverKey as symbol]: imageResolver } },
    attachTo: document.body,
  })
}

const keysOf = (wrapper: ReturnType<typeof mountGrid>) =>
  wrapper.findAll('[data-testid="image-card"]').map((card) => card.attributes('data-key'))

function sentinelOf(wrapper: ReturnType<typeof mountGrid>): Element {
  return wrapper.get('.image-grid__footer').element
}

describe('ImageGrid', () => {
  beforeEach(() => MockIntersectionObserver.install())
  afterEach(() => {
    document.body.innerHTML = ''
  })

  it('lists the first page as cards with their keys', async () => {
    const fetchPage = listing(25)
    const wrapper = mountGrid({ fetchPage })
    await flushPromises()
    expect(fetchPage).toHaveBeenCalledOnce()
    expect(fetchPage.mock.calls[0]?.[0]).toMatchObject({ prefix: '', cursor: null, limit: 10 })
    expect(wrapper.find('[data-testid="gallery-grid"]').exists()).toBe(true)
    expect(keysOf(wrapper)).toHaveLength(10)
    expect(keysOf(wrapper)[0]).toBe('albums/000.png')
    const image = wrapper.get('[data-testid="image-card"] [data-testid="smart-image"]')
    expect(image.attributes('data-key')).toBe('albums/000.png')
  })

  it('reads the next pages by cursor while the end of the grid is in view, then stops', async () => {
    const fetchPage = listing(25)
    const wrapper = mountGrid({ fetchPage })
    await flushPromises()

    MockIntersectionObserver.intersect([sentinelOf(wrapper)], true)
    await flushPromises()
    // The sentinel stays in view, so pages keep coming until the listing ends.
    expect(fetchPage.mock.calls.map((call) => call[0].cursor)).toEqual([null, '10', '20'])
    expect(keysOf(wrapper)).toHaveLength(25)
    expect(wrapper.text()).toContain('That is all of them.')

    MockIntersectionObserver.intersect([sentinelOf(wrapper)], false)
    MockIntersectionObserver.intersect([sentinelOf(wrapper)], true)
    await flushPromises()
    expect(fetchPage).toHaveBeenCalledTimes(3)
  })

  it('does not read further while the end is out of view', async () => {
    const fetchPage = listing(25)
    const wrapper = mountGrid({ fetchPage })
    await flushPromises()
    MockIntersectionObserver.intersect([sentinelOf(wrapper)], false)
    await flushPromises()
    expect(fetchPage).toHaveBeenCalledOnce()
    expect(wrapper.find('[data-testid="load-more"]').exists()).toBe(true)
  })

  it('filters by prefix: typing emits the prefix, a new prefix starts from the first page', async () => {
    vi.useFakeTimers()
    try {
      const fetchPage = listing(25)
      const wrapper = mountGrid({ fetchPage })
      await vi.advanceTimersByTimeAsync(0)
      const input = wrapper.get('input[data-testid="prefix-filter"]')
      await input.setValue('albums/01')
      expect(wrapper.emitted('update:prefix')).toBeUndefined()
      await vi.advanceTimersByTimeAsync(400)
      expect(wrapper.emitted('update:prefix')).toEqual([['albums/01']])

      await wrapper.setProps({ prefix: 'albums/01' })
      await vi.advanceTimersByTimeAsync(0)
      expect(fetchPage).toHaveBeenLastCalledWith(expect.objectContaining({ prefix: 'albums/01', cursor: null }))
      expect(keysOf(wrapper)).toEqual(Array.from({ length: 10 }, (_, i) => `albums/01${i}.png`))
    } finally {
      vi.useRealTimers()
    }
  })

  it('says so when a prefix matches nothing', async () => {
    const wrapper = mountGrid({ fetchPage: listing(3), prefix: 'nothing/' })
    await flushPromises()
    expect(wrapper.get('[data-testid="grid-empty"]').text()).toContain('No images under “nothing/”.')
  })

  it('shows a listing error with a retry that works', async () => {
    const fetchPage = listing(5)
    fetchPage.mockRejectedValueOnce(new ApiError('network', 'Failed to fetch'))
    const wrapper = mountGrid({ fetchPage })
    await flushPromises()
    const alert = wrapper.get('[data-testid="grid-error"]')
    expect(alert.text()).toContain('Cannot reach the server')
    await wrapper.get('[data-testid="grid-retry"]').trigger('click')
    await flushPromises()
    expect(wrapper.find('[data-testid="grid-error"]').exists()).toBe(false)
    expect(keysOf(wrapper)).toHaveLength(5)
  })

  it('selection mode toggles keys on click and selects a range with shift', async () => {
    const wrapper = mountGrid({ fetchPage: listing(5), selectable: true, selected: [] })
    await flushPromises()
    const buttons = wrapper.findAll('[data-testid="image-card-button"]')
    expect(buttons[0]?.attributes('aria-pressed')).toBe('false')

    await buttons[1]?.trigger('click')
    expect(wrapper.emitted('update:selected')?.at(-1)).toEqual([['albums/001.png']])
    await wrapper.setProps({ selected: ['albums/001.png'] })
    expect(buttons[1]?.attributes('aria-pressed')).toBe('true')
    expect(wrapper.findAll('[data-testid="image-card"]')[1]?.attributes('data-selected')).toBe('true')

    await buttons[3]?.trigger('click', { shiftKey: true })
    expect(wrapper.emitted('update:selected')?.at(-1)).toEqual([
      ['albums/001.png', 'albums/002.png', 'albums/003.png'],
    ])

    await wrapper.get('[data-testid="select-all"]').trigger('click')
    expect(wrapper.emitted('update:selected')?.at(-1)?.[0]).toHaveLength(5)
    // No viewer in selection mode.
    expect(document.querySelector('.el-image-viewer__wrapper')).toBeNull()
  })

  it('opens the viewer on the clicked image; arrow keys move, Escape closes and refocuses', async () => {
    const wrapper = mountGrid({ fetchPage: listing(5) })
    await flushPromises()
    const buttons = wrapper.findAll('[data-testid="image-card-button"]')
    await buttons[2]?.trigger('click')
    await flushPromises()

    const viewer = document.querySelector('.el-image-viewer__wrapper')
    expect(viewer).not.toBeNull()
    const current = () => document.querySelector<HTMLImageElement>('.el-image-viewer__img')?.getAttribute('src')
    // A large variant (happy-dom's 1024 px window snaps to 1280), and the original a link away.
    expect(current()).toBe('/i/albums/002.png?w=1280&f=auto')
    expect(document.querySelector('[data-testid="viewer-original"]')?.getAttribute('href')).toBe('/i/albums/002.png')

    document.dispatchEvent(new KeyboardEvent('keydown', { key: 'ArrowRight', code: 'ArrowRight', bubbles: true }))
    await flushPromises()
    expect(current()).toBe('/i/albums/003.png?w=1280&f=auto')

    document.dispatchEvent(new KeyboardEvent('keydown', { key: 'Escape', code: 'Escape', bubbles: true }))
    await flushPromises()
    await nextTick()
    expect(document.querySelector('.el-image-viewer__wrapper')).toBeNull()
    expect(document.activeElement).toBe(buttons[3]?.element)
  })

  it('uses the proxy URL in the viewer in proxy mode', async () => {
    const wrapper = mountGrid({ fetchPage: listing(2), mode: 'proxy' })
    await flushPromises()
    await wrapper.findAll('[data-testid="image-card-button"]')[0]?.trigger('click')
    await flushPromises()
    expect(document.querySelector('.el-image-viewer__img')?.getAttribute('src')).toBe('/p/albums/000.png?w=1280&f=auto')
  })

  it('moves focus between cards with arrow keys (one card in the tab order)', async () => {
    const wrapper = mountGrid({ fetchPage: listing(5) })
    await flushPromises()
    const buttons = wrapper.findAll('[data-testid="image-card-button"]')
    expect(buttons.map((b) => b.attributes('tabindex'))).toEqual(['0', '-1', '-1', '-1', '-1'])
    ;(buttons[0]?.element as HTMLElement).focus()
    await buttons[0]?.trigger('keydown', { key: 'ArrowRight' })
    expect(document.activeElement).toBe(buttons[1]?.element)
    expect(buttons[1]?.attributes('tabindex')).toBe('0')
    await buttons[1]?.trigger('keydown', { key: 'End' })
    expect(document.activeElement).toBe(buttons[4]?.element)
    await buttons[4]?.trigger('keydown', { key: 'Home' })
    expect(document.activeElement).toBe(buttons[0]?.element)
  })

  it('asks for the keys of every image that scrolled into view together in one request', async () => {
    const fetchBatch = vi.fn(async (keys: string[]) => ({ items: [], errors: keys.map((key) => ({ key, code: 'not_found' as const, message: 'gone' })) }))
    const wrapper = mountGrid({ fetchPage: listing(10) }, new Resolver({ fetchBatch }))
    await flushPromises()
    const images = wrapper.findAll('[data-testid="smart-image"]').map((image) => image.element)
    expect(fetchBatch).not.toHaveBeenCalled()

    MockIntersectionObserver.intersect(images.slice(0, 6), true)
    // The resolver sends on a zero-delay timer once the task is over.
    await vi.waitFor(() => expect(fetchBatch).toHaveBeenCalled())
    await flushPromises()
    expect(fetchBatch).toHaveBeenCalledOnce()
    expect(fetchBatch.mock.calls[0]?.[0]).toEqual(keysOf(wrapper).slice(0, 6))
  })

  it('shift-click in selection mode deselects a range that starts on a selected key', async () => {
    const wrapper = mountGrid({ fetchPage: listing(5), selectable: true, selected: ['albums/000.png', 'albums/001.png', 'albums/002.png'] })
    await flushPromises()
    const buttons = wrapper.findAll('[data-testid="image-card-button"]')
    await buttons[2]?.trigger('click') // deselects 002, the anchor
    await wrapper.setProps({ selected: wrapper.emitted<string[][]>('update:selected')?.at(-1)?.[0] })
    await buttons[0]?.trigger('click', { shiftKey: true }) // 000 is selected: 000..002 go
    expect(wrapper.emitted('update:selected')?.at(-1)).toEqual([[]])
  })
})
