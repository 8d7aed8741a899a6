import { describe, expect, it } from 'vitest'
import { ref } from 'vue'

import { useRangeSelection } from '../useRangeSelection'

const KEYS = ['a', 'b', 'c', 'd', 'e']

/** The composable with its parent's v-model: every change is applied and recorded. */
function setup(initial: string[] = []) {
  const selected = ref<string[]>(initial)
  const changes: string[][] = []
  const selection = useRangeSelection({
    keys: KEYS,
    selected,
    onChange: (keys) => {
      changes.push(keys)
      selected.value = keys
    },
  })
  return { selected, changes, ...selection }
}

describe('useRangeSelection', () => {
  it('toggles one key at a time', () => {
    const { selected, selectedSet, toggle } = setup()
    toggle(1)
    expect(selected.value).toEqual(['b'])
    expect(selectedSet.value.has('b')).toBe(true)
    toggle(1)
    expect(selected.value).toEqual([])
  })

  it('a range toggle gives the whole range the new state of the key clicked', () => {
    const { selected, toggle } = setup()
    toggle(3)
    toggle(1, true) // backwards from the anchor
    expect([...selected.value].sort()).toEqual(['b', 'c', 'd'])
    toggle(4) // new anchor, selected
    toggle(2, true) // c is selected: the range c..e is deselected
    expect(selected.value).toEqual(['b'])
  })

  it('without an anchor a range toggle is a plain toggle', () => {
    const { selected, toggle } = setup()
    toggle(2, true)
    expect(selected.value).toEqual(['c'])
  })

  it('select all keeps earlier keys; clear forgets the anchor', () => {
    const { selected, changes, toggle, selectAll, clear } = setup(['elsewhere'])
    selectAll()
    expect(selected.value).toEqual(['elsewhere', ...KEYS])
    toggle(0)
    clear()
    expect(selected.value).toEqual([])
    toggle(2, true) // no anchor left: only c
    expect(selected.value).toEqual(['c'])
    expect(changes).toHaveLength(4)
  })

  it('ignores an index outside the list', () => {
    const { changes, toggle } = setup()
    toggle(9)
    expect(changes).toEqual([])
  })
})
