import { readonly, ref, type Ref } from 'vue'

const visible = ref(typeof document === 'undefined' || document.visibilityState !== 'hidden')
let listening = false

/** Whether the page is shown (not a background tab, not minimised); one listener for the app. */
export function useDocumentVisible(): Readonly<Ref<boolean>> {
  if (!listening && typeof document !== 'undefined') {
    listening = true
    document.addEventListener('visibilitychange', () => {
      visible.value = document.visibilityState !== 'hidden'
    })
  }
  return readonly(visible)
}
