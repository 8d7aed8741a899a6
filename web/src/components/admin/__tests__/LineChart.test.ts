import { enableAutoUnmount, flushPromises, mount } from '@vue/test-utils'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import VChart from 'vue-echarts'

import { stubLayoutSize } from '../../../../tests/layout'
import LineChart from '../LineChart.vue'

enableAutoUnmount(afterEach)

const T = 1_700_000_000

interface LineSeries {
  type: string
  name: string
  color: string
  data: ([number, number | null] | { value: [number, number | null]; symbol: string })[]
}

/** The option the chart hands to ECharts. */
function optionOf(wrapper: ReturnType<typeof mount>) {
  return wrapper.getComponent(VChart).props('option') as {
    series: LineSeries[]
    yAxis: { max?: number; axisLabel: { formatter: (v: number) => string } }
    tooltip: { valueFormatter: (v: unknown) => string }
  }
}

type ChartProps = InstanceType<typeof LineChart>['$props']

function mountChart(props: Pick<ChartProps, 'times' | 'series' | 'format' | 'max'>) {
  return mount(LineChart, { props: { title: 'Traffic', ...props }, attachTo: document.body })
}

describe('LineChart', () => {
  beforeEach(() => stubLayoutSize())
  afterEach(() => {
    document.body.innerHTML = ''
  })

  it('hands every series to ECharts as time/value pairs, gaps kept as null', () => {
    const wrapper = mountChart({
      times: [T, T + 60, T + 120],
      series: [
        { name: 'Hits', values: [1, 2, 3] },
        { name: 'Misses', tone: 'warning', values: [1, null, 1] },
      ],
    })
    const { series } = optionOf(wrapper)
    expect(series.map((s) => [s.type, s.name])).toEqual([
      ['line', 'Hits'],
      ['line', 'Misses'],
    ])
    expect(series[0]?.data).toEqual([
      [T * 1000, 1],
      [(T + 60) * 1000, 2],
      [(T + 120) * 1000, 3],
    ])
    // The missing minute stays missing (a gap), and the values beside it are lone dots.
    expect(series[1]?.data[1]).toEqual([(T + 60) * 1000, null])
    expect(series[1]?.data[0]).toEqual({ value: [T * 1000, 1], symbol: 'circle', symbolSize: 5 })
    // Colours are Element Plus's (theme.css values where the variables cannot be read).
    expect(series[1]?.color).toBe('#9a5b00')
    expect(series[0]?.color).toBe('#1f66c7')
  })

  it("takes its colours from Element Plus's CSS variables", () => {
    document.documentElement.style.setProperty('--el-color-primary', '#123456')
    try {
      const wrapper = mountChart({ times: [T], series: [{ name: 'Hits', values: [1] }] })
      expect(optionOf(wrapper).series[0]?.color).toBe('#123456')
    } finally {
      document.documentElement.style.removeProperty('--el-color-primary')
    }
  })

  it('draws the lines as SVG', async () => {
    const wrapper = mountChart({ times: [T, T + 60], series: [{ name: 'Hits', values: [1, 2] }] })
    await flushPromises()
    await new Promise((resolve) => requestAnimationFrame(resolve))
    expect(wrapper.find('svg').exists()).toBe(true)
    expect(wrapper.findAll('svg path').length).toBeGreaterThan(0)
  })

  it('formats axis ticks and the tooltip with the given format, and pins the axis top', () => {
    const wrapper = mountChart({
      times: [T, T + 60],
      series: [{ name: 'Hit rate', values: [0.5, 0.75] }],
      format: (v: number) => `${Math.round(v * 100)}%`,
      max: 1,
    })
    const option = optionOf(wrapper)
    expect(option.yAxis.max).toBe(1)
    expect(option.yAxis.axisLabel.formatter(0.25)).toBe('25%')
    expect(option.tooltip.valueFormatter(0.75)).toBe('75%')
    expect(option.tooltip.valueFormatter(null)).toBe('—')
  })

  it('is one image for screen readers, labelled with the latest values', () => {
    const wrapper = mountChart({
      times: [T, T + 60],
      series: [
        { name: 'Hits', values: [1, 4] },
        { name: 'Misses', values: [2, null] },
      ],
    })
    const body = wrapper.get('[role="img"]')
    expect(body.attributes('aria-label')).toBe('Traffic. 2 points; latest: Hits: 4, Misses: —.')
    expect(body.attributes('tabindex')).toBe('0')
    expect(wrapper.get('figcaption').text()).toBe('Traffic')
  })

  it('moves the tooltip from point to point with the arrow keys, and hides it on blur', async () => {
    const wrapper = mountChart({ times: [T, T + 60, T + 120], series: [{ name: 'Hits', values: [1, 2, 3] }] })
    await flushPromises()
    const chart = wrapper.getComponent(VChart).vm.chart
    expect(chart).toBeDefined()
    /** The point ECharts' tooltip is on (the last showtip wins), or null once hidden. */
    let shownAt: number | null = null
    chart?.on('showtip', (event) => {
      shownAt = (event as { dataIndex: number }).dataIndex
    })
    chart?.on('hidetip', () => {
      shownAt = null
    })
    const body = wrapper.get('[role="img"]')
    await body.trigger('keydown', { key: 'ArrowLeft' }) // from the end: the last point
    expect(shownAt).toBe(2)
    await body.trigger('keydown', { key: 'ArrowLeft' })
    await body.trigger('keydown', { key: 'ArrowLeft' })
    await body.trigger('keydown', { key: 'ArrowLeft' }) // stays on the first
    expect(shownAt).toBe(0)
    await body.trigger('keydown', { key: 'ArrowRight' })
    expect(shownAt).toBe(1)
    await body.trigger('blur')
    expect(shownAt).toBeNull()
  })

  it('says when there is no data and draws nothing', () => {
    const wrapper = mountChart({ times: [], series: [{ name: 'x', values: [] }] })
    expect(wrapper.findComponent(VChart).exists()).toBe(false)
    expect(wrapper.find('[role="img"]').exists()).toBe(false)
    expect(wrapper.text()).toContain('No data for this period yet.')
  })
})
