import { ref, toValue, watch, type MaybeRefOrGetter, type ShallowRef } from 'vue'

export interface UseRovingFocusOptions {
  /** The element laid out as a CSS grid; its column count drives ↑ / ↓. */
  container: Readonly<ShallowRef<HTMLElement | null>>
  /** How many items there are. */
  count: MaybeRefOrGetter<number>
  /** CSS selector, inside `container`, of the element to focus for item `index`. */
  itemSelector: (index: number) => string
  /** An arrow key pointed past the last item (the list may have more to load). */
  onPastEnd?: () => void
}

/**
 * Roving tabindex over a grid of items: only the active item is in the tab order
 * (`tabindex="0"`, the rest `-1`); ← → ↑ ↓ move by one item or one row, Home / End go to the
 * first / last item, and focus follows.
 */
export function useRovingFocus(options: UseRovingFocusOptions) {
  const { container, count, itemSelector, onPastEnd } = options
  const activeIndex = ref(0)

  // Items went away (a new filter): keep the active one inside the list.
  watch(
    () => toValue(count),
    (length) => {
      if (activeIndex.value >= length) activeIndex.value = Math.max(0, length - 1)
    },
  )

  function focusItem(index: number) {
    container.value?.querySelector<HTMLElement>(itemSelector(index))?.focus()
  }

  function columns(): number {
    const template = container.value ? getComputedStyle(container.value).gridTemplateColumns : ''
    return Math.max(1, template.split(' ').filter(Boolean).length)
  }

  /** Keydown on item `index`: the navigation keys move the focus, others pass. */
  function onKeydown(index: number, event: KeyboardEvent) {
    const last = toValue(count) - 1
    const moves: Record<string, number> = {
      ArrowRight: index + 1,
      ArrowLeft: index - 1,
      ArrowDown: index + columns(),
      ArrowUp: index - columns(),
      Home: 0,
      End: last,
    }
    const target = moves[event.key]
    if (target === undefined) return
    event.preventDefault()
    const next = Math.min(Math.max(target, 0), last)
    if (target > last) onPastEnd?.()
    activeIndex.value = next
    focusItem(next)
  }

  return { activeIndex, focusItem, onKeydown }
}
