import { computed, toValue, type MaybeRefOrGetter } from 'vue'

export interface UseRangeSelectionOptions {
  /** Every selectable key, in the order shown. */
  keys: MaybeRefOrGetter<readonly string[]>
  /** Keys selected now (the parent owns them: v-model). */
  selected: MaybeRefOrGetter<readonly string[]>
  /** Gets the new selection after every change. */
  onChange: (keys: string[]) => void
}

/**
 * Selection over a list with ranges: a plain toggle flips one key, a range toggle (shift-click)
 * gives every key from the last toggled one to this one the new state of this one.
 */
export function useRangeSelection(options: UseRangeSelectionOptions) {
  const { keys, selected, onChange } = options
  const selectedSet = computed(() => new Set(toValue(selected)))
  /** Index of the last toggled key: where the next range starts. */
  let anchor: number | null = null

  function toggle(index: number, range = false) {
    const all = toValue(keys)
    const key = all[index]
    if (key === undefined) return
    const next = new Set(toValue(selected))
    const select = !next.has(key)
    const [from, to] =
      range && anchor !== null ? [Math.min(anchor, index), Math.max(anchor, index)] : [index, index]
    for (const other of all.slice(from, to + 1)) {
      if (select) next.add(other)
      else next.delete(other)
    }
    anchor = index
    onChange([...next])
  }

  /** Adds every key shown to the selection. */
  function selectAll() {
    onChange([...new Set([...toValue(selected), ...toValue(keys)])])
  }

  function clear() {
    anchor = null
    onChange([])
  }

  return { selectedSet, toggle, selectAll, clear }
}
