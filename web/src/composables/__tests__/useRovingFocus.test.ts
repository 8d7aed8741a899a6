import { afterEach, describe, expect, it, vi } from 'vitest'
import { effectScope, nextTick, ref, shallowRef } from 'vue'

import { useRovingFocus } from '../useRovingFocus'

/** A 3-column CSS grid of `count` buttons in the document. */
function grid(count: number) {
  const container = document.createElement('ul')
  container.style.display = 'grid'
  container.style.gridTemplateColumns = '100px 100px 100px'
  for (let i = 0; i < count; i++) {
    const button = document.createElement('button')
    button.dataset.index = String(i)
    container.append(button)
  }
  document.body.append(container)
  const button = (i: number) => container.querySelector<HTMLElement>(`[data-index="${i}"]`)
  return { container, button }
}

function key(name: string) {
  return new KeyboardEvent('keydown', { key: name, cancelable: true })
}

describe('useRovingFocus', () => {
  const scope = effectScope()
  afterEach(() => {
    document.body.innerHTML = ''
  })

  function setup(size: number, onPastEnd = vi.fn()) {
    const { container, button } = grid(size)
    const count = ref(size)
    const roving = scope.run(() =>
      useRovingFocus({
        container: shallowRef(container),
        count,
        itemSelector: (i) => `[data-index="${i}"]`,
        onPastEnd,
      }),
    )!
    return { ...roving, count, button, onPastEnd }
  }

  it('moves by one item with ← →, by one row with ↑ ↓, and focuses the target', () => {
    const { activeIndex, onKeydown, button } = setup(8)
    onKeydown(0, key('ArrowRight'))
    expect(activeIndex.value).toBe(1)
    expect(document.activeElement).toBe(button(1))
    onKeydown(1, key('ArrowDown'))
    expect(activeIndex.value).toBe(4)
    onKeydown(4, key('ArrowUp'))
    expect(activeIndex.value).toBe(1)
    onKeydown(1, key('ArrowLeft'))
    expect(activeIndex.value).toBe(0)
    onKeydown(0, key('ArrowLeft')) // stays on the first
    expect(activeIndex.value).toBe(0)
  })

  it('Home and End go to the ends; other keys pass through untouched', () => {
    const { activeIndex, onKeydown, button } = setup(8)
    const end = key('End')
    onKeydown(2, end)
    expect(end.defaultPrevented).toBe(true)
    expect(document.activeElement).toBe(button(7))
    onKeydown(7, key('Home'))
    expect(activeIndex.value).toBe(0)
    const enter = key('Enter')
    onKeydown(0, enter)
    expect(enter.defaultPrevented).toBe(false)
    expect(activeIndex.value).toBe(0)
  })

  it('pointing past the last item asks for more and stays on the last', () => {
    const { activeIndex, onKeydown, onPastEnd } = setup(8)
    onKeydown(6, key('ArrowDown'))
    expect(onPastEnd).toHaveBeenCalledOnce()
    expect(activeIndex.value).toBe(7)
    onKeydown(7, key('ArrowLeft'))
    expect(onPastEnd).toHaveBeenCalledOnce()
  })

  it('keeps the active item inside a list that got shorter', async () => {
    const { activeIndex, count } = setup(8)
    activeIndex.value = 6
    count.value = 3
    await nextTick()
    expect(activeIndex.value).toBe(2)
  })
})
