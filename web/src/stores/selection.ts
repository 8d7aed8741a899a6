/**
 * Keys picked in the gallery's selection mode, handed to the admin console's batch refresh.
 * Kept in sessionStorage so a reload or the jump to the admin route keeps them.
 */
import { readonly, ref, watch, type Ref } from 'vue'

const STORAGE_KEY = 'iuc.selection'

function load(): string[] {
  try {
    const saved: unknown = JSON.parse(sessionStorage.getItem(STORAGE_KEY) ?? '[]')
    return Array.isArray(saved) ? saved.filter((key): key is string => typeof key === 'string') : []
  } catch {
    return []
  }
}

const keys = ref<string[]>(load())

watch(keys, (value) => {
  try {
    if (value.length) sessionStorage.setItem(STORAGE_KEY, JSON.stringify(value))
    else sessionStorage.removeItem(STORAGE_KEY)
  } catch {
    // Storage full or disabled: the selection lasts for this page only.
  }
})

export interface SelectionStore {
  keys: Readonly<Ref<readonly string[]>>
  set: (next: readonly string[]) => void
  clear: () => void
}

export function useSelection(): SelectionStore {
  return {
    keys: readonly(keys),
    set: (next) => {
      keys.value = [...new Set(next)]
    },
    clear: () => {
      keys.value = []
    },
  }
}
