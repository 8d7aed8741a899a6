/**
 * An image's box on the page, as a variant needs it: the width to ask for (its CSS box ×
 * devicePixelRatio, snapped to the ladder), the `sizes` for its `srcset`, and whether it sat
 * in the viewport when it mounted (a first-screen image: eager, `fetchpriority="high"`).
 *
 * Measured once on mount (one layout for the whole grid: Vue runs every mounted hook after the
 * tree is inserted), then kept current by a ResizeObserver. The width only grows: a cell that
 * shrinks keeps its sharper variant instead of loading a smaller one.
 */
import { useResizeObserver } from '@vueuse/core'
import { computed, onMounted, ref, toValue, type MaybeRefOrGetter, type Ref } from 'vue'

import { snapWidth, variantSettings, widthForBox, type VariantSpec } from '@/utils/variants'

const FALLBACK_WIDTH = 480

export interface UseImageBoxOptions {
  /** The original's width / height, when known (`object-fit: cover` of another ratio). */
  aspect?: MaybeRefOrGetter<number | null | undefined>
  /** @default window.devicePixelRatio */
  dpr?: () => number
}

export function useImageBox(root: Ref<HTMLElement | null>, options: UseImageBoxOptions = {}) {
  const { aspect, dpr = () => globalThis.devicePixelRatio || 1 } = options
  const size = ref({ width: 0, height: 0 })
  const inViewAtMount = ref(false)
  /** The widest variant width asked for so far (0: not measured yet). */
  const width = ref(0)

  function update(box: { width: number; height: number }) {
    size.value = { width: box.width, height: box.height }
    if (box.width <= 0) return
    const wanted = widthForBox(box, dpr(), variantSettings.ladder, toValue(aspect))
    if (wanted > width.value) width.value = wanted
  }

  onMounted(() => {
    const element = root.value
    if (!element) return
    const rect = element.getBoundingClientRect()
    const viewportHeight = globalThis.innerHeight || 0
    const viewportWidth = globalThis.innerWidth || 0
    inViewAtMount.value =
      rect.width > 0 &&
      rect.bottom > 0 &&
      rect.top < viewportHeight &&
      rect.right > 0 &&
      rect.left < viewportWidth
    update(rect)
  })
  useResizeObserver(root, (entries) => {
    const box = entries.at(-1)?.contentRect
    if (box) update(box)
  })

  // Unmeasured (a DOM without layout): the first page's width, what a grid cell usually takes.
  // A browser measures on mount, before the image can be seen, so it never gets here.
  const variant = computed<VariantSpec>(() => ({
    width: width.value || snapWidth(FALLBACK_WIDTH, variantSettings.ladder),
    format: variantSettings.format,
  }))
  const sizes = computed(() =>
    size.value.width > 0 ? `${Math.ceil(size.value.width)}px` : undefined,
  )
  return { variant, sizes, inViewAtMount }
}
