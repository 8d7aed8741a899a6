import { createSharedComposable, useDocumentVisibility } from '@vueuse/core'
import { computed } from 'vue'

/**
 * Whether the page is shown (not a background tab, not minimised).
 *
 * VueUse's `useDocumentVisibility`, shared: a grid has hundreds of images, and they get one
 * `visibilitychange` listener between them instead of one each. It is removed when the last
 * caller's scope ends.
 */
export const usePageVisibility = createSharedComposable(() => {
  const visibility = useDocumentVisibility()
  return computed(() => visibility.value !== 'hidden')
})
