import { enableAutoUnmount, mount } from '@vue/test-utils'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'

import PrefixFilter from '../PrefixFilter.vue'

enableAutoUnmount(afterEach)

describe('PrefixFilter', () => {
  beforeEach(() => vi.useFakeTimers())
  afterEach(() => vi.useRealTimers())

  const input = (wrapper: ReturnType<typeof mount>) =>
    wrapper.get('input[data-testid="prefix-filter"]')

  it('applies the trimmed text on Enter at once, and not again after the pause', async () => {
    const wrapper = mount(PrefixFilter, { props: { modelValue: '' } })
    await input(wrapper).setValue('  albums/ ')
    await input(wrapper).trigger('keydown', { key: 'Enter' })
    expect(wrapper.emitted('update:modelValue')).toEqual([['albums/']])
    await vi.advanceTimersByTimeAsync(1000)
    expect(wrapper.emitted('update:modelValue')).toHaveLength(1)
  })

  it('emits nothing when the text is the applied prefix', async () => {
    const wrapper = mount(PrefixFilter, { props: { modelValue: 'albums/' } })
    await input(wrapper).setValue('albums/ ')
    await vi.advanceTimersByTimeAsync(400)
    expect(wrapper.emitted('update:modelValue')).toBeUndefined()
  })

  it('shows a prefix set from outside', async () => {
    const wrapper = mount(PrefixFilter, { props: { modelValue: '' } })
    await wrapper.setProps({ modelValue: 'cats/' })
    expect((input(wrapper).element as HTMLInputElement).value).toBe('cats/')
  })
})
