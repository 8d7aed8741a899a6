import { enableAutoUnmount, mount } from '@vue/test-utils'
import { afterEach, describe, expect, it } from 'vitest'

import LineChart from '../LineChart.vue'

enableAutoUnmount(afterEach)

const T = 1_700_000_000

describe('LineChart', () => {
  it('draws one path per series and breaks lines at missing values', () => {
    const wrapper = mount(LineChart, {
      props: {
        title: 'Traffic',
        times: [T, T + 60, T + 120, T + 180],
        series: [
          { name: 'Hits', values: [1, 2, 3, 4] },
          { name: 'Misses', values: [1, null, 1, 1] },
        ],
      },
    })
    const paths = wrapper.findAll('path.line-chart__line')
    expect(paths).toHaveLength(2)
    expect(paths[0]?.attributes('d')?.match(/[ML]/g)).toEqual(['M', 'L', 'L', 'L'])
    // The gap starts a new sub-path.
    expect(paths[1]?.attributes('d')?.match(/[ML]/g)).toEqual(['M', 'M', 'L'])
    expect(wrapper.get('svg').attributes('role')).toBe('img')
    expect(wrapper.get('svg').attributes('aria-label')).toContain('Hits: 4, Misses: 1')
    expect(wrapper.findAll('.line-chart__legend li').map((li) => li.text())).toEqual(['Hits', 'Misses'])
  })

  it('draws a lone value between gaps as a dot', () => {
    const wrapper = mount(LineChart, {
      props: { title: 'Rate', times: [T, T + 60, T + 120], series: [{ name: 'r', values: [null, 0.5, null] }], max: 1 },
    })
    expect(wrapper.findAll('circle.line-chart__dot')).toHaveLength(1)
    // max pins the axis: 0.5 sits half way up the plot.
    const ticks = wrapper.findAll('.line-chart__grid text').map((t) => t.text())
    expect(ticks).toContain('1')
  })

  it('shows a readout for the point chosen with the keyboard', async () => {
    const wrapper = mount(LineChart, {
      props: {
        title: 'Rate',
        times: [T, T + 60],
        series: [{ name: 'Hit rate', values: [0.5, 0.75] }],
        format: (v: number) => `${Math.round(v * 100)}%`,
      },
    })
    await wrapper.get('svg').trigger('keydown', { key: 'ArrowLeft' })
    expect(wrapper.get('.line-chart__tooltip').text()).toContain('Hit rate: 50%')
    await wrapper.get('svg').trigger('keydown', { key: 'ArrowRight' })
    expect(wrapper.get('.line-chart__tooltip').text()).toContain('Hit rate: 75%')
  })

  it('says when there is no data', () => {
    const wrapper = mount(LineChart, { props: { title: 'Empty', times: [], series: [{ name: 'x', values: [] }] } })
    expect(wrapper.find('svg').exists()).toBe(false)
    expect(wrapper.text()).toContain('No data for this period yet.')
  })
})
