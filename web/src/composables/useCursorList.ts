import {
  computed,
  readonly,
  ref,
  shallowReadonly,
  shallowRef,
  type ComputedRef,
  type Ref,
} from 'vue'

export interface CursorPage<T> {
  items: T[]
  next_cursor: string | null
}

export type FetchPage<T> = (cursor: string | null, signal: AbortSignal) => Promise<CursorPage<T>>

export interface UseCursorListReturn<T> {
  items: Readonly<Ref<readonly T[]>>
  /** A page is on its way. */
  loading: Readonly<Ref<boolean>>
  /** The last page request failed; `loadMore` tries it again. */
  error: Readonly<Ref<unknown>>
  /** The listing has been read to its end. */
  done: Readonly<Ref<boolean>>
  /** The first page has arrived (or failed). */
  started: Readonly<Ref<boolean>>
  hasMore: ComputedRef<boolean>
  /** Fetches the next page unless one is on its way or the end was reached. */
  loadMore: () => Promise<void>
  /** Drops everything and starts from the first page (cancelling a request on its way). */
  reset: () => Promise<void>
}

/** A cursor-paginated listing read page by page, as infinite scroll needs it. */
export function useCursorList<T>(
  fetchPage: FetchPage<T>,
  keyOf: (item: T) => string,
): UseCursorListReturn<T> {
  const items = shallowRef<T[]>([])
  const loading = ref(false)
  const error = shallowRef<unknown>(null)
  const done = ref(false)
  const started = ref(false)
  let cursor: string | null = null
  let controller: AbortController | null = null
  const seen = new Set<string>()

  async function loadMore(): Promise<void> {
    if (loading.value || done.value) return
    const current = new AbortController()
    controller = current
    loading.value = true
    error.value = null
    try {
      const page = await fetchPage(cursor, current.signal)
      if (controller !== current) return
      // A listing that shifts between pages may repeat a key: show it once.
      const fresh = page.items.filter((item) => {
        const key = keyOf(item)
        if (seen.has(key)) return false
        seen.add(key)
        return true
      })
      items.value = [...items.value, ...fresh]
      cursor = page.next_cursor
      done.value = !page.next_cursor
    } catch (reason) {
      if (controller !== current) return
      error.value = reason
    } finally {
      if (controller === current) {
        loading.value = false
        started.value = true
      }
    }
  }

  async function reset(): Promise<void> {
    controller?.abort()
    controller = null
    items.value = []
    seen.clear()
    cursor = null
    done.value = false
    started.value = false
    loading.value = false
    error.value = null
    await loadMore()
  }

  return {
    items,
    loading: readonly(loading),
    error: shallowReadonly(error),
    done: readonly(done),
    started: readonly(started),
    hasMore: computed(() => !done.value),
    loadMore,
    reset,
  }
}
