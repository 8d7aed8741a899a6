import { useIntersectionObserver } from '@vueuse/core'
import { nextTick, ref, toValue, watch, type MaybeRefOrGetter, type ShallowRef } from 'vue'

export interface UseInfiniteScrollOptions {
  /** Load while the sentinel is this many px below the viewport (or closer). */
  margin: number
  /** Whether a page may be loaded now (started, not loading, no error, more to come). */
  canLoad: MaybeRefOrGetter<boolean>
  /** Loads the next page. */
  load: () => void
}

/**
 * Infinite scroll over a sentinel element placed after the list: while the sentinel is within
 * `margin` px of the viewport, keep loading pages (a tall screen may need several before it
 * fills). Stops while `canLoad` is false, e.g. after an error, until the user retries.
 *
 * A sentinel seen by VueUse's `useIntersectionObserver` rather than VueUse's
 * `useInfiniteScroll`: that one listens to the scroll events of one known container, while the
 * grid also sits inside a drawer that scrolls on its own; the observer's viewport covers both.
 */
export function useInfiniteScroll(
  sentinel: Readonly<ShallowRef<HTMLElement | null>>,
  options: UseInfiniteScrollOptions,
) {
  const { margin, canLoad, load } = options
  const sentinelVisible = ref(false)

  useIntersectionObserver(
    sentinel,
    (entries) => {
      const latest = entries.at(-1)
      if (latest) sentinelVisible.value = latest.isIntersecting
    },
    { rootMargin: `${margin}px` },
  )

  /**
   * Measured, not taken from the observer: right after a page renders, the observer's last
   * report ("visible") predates the new rows that pushed the sentinel down.
   */
  function sentinelNear(): boolean {
    const element = sentinel.value
    if (!element) return false
    return element.getBoundingClientRect().top <= window.innerHeight + margin
  }

  watch(
    () => sentinelVisible.value && toValue(canLoad),
    async (shouldLoad) => {
      if (!shouldLoad) return
      await nextTick()
      if (sentinelNear()) load()
    },
  )

  return { sentinelVisible }
}

