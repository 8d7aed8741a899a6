import { enableAutoUnmount, mount } from '@vue/test-utils'
import { afterEach, describe, expect, it } from 'vitest'

import type { MonitoringStats } from '@/api/types'
import { setLocale } from '@/i18n'

import DeploymentPanel from '../DeploymentPanel.vue'

enableAutoUnmount(afterEach)

const NOW = 1_700_000_000

function mountPanel(redis: MonitoringStats['redis'], extra: Partial<Pick<MonitoringStats, 'nodes' | 'workers'>> = {}) {
  return mount(DeploymentPanel, {
    props: {
      nodes: extra.nodes ?? [
        { id: 'node-b', version: '1.4.0', last_seen: NOW - 2 },
        { id: 'node-a', version: '1.4.0', last_seen: NOW - 4 },
      ],
      workers: extra.workers ?? [{ id: 'worker-1', version: '1.3.9', last_seen: NOW - 500 }],
      redis,
      now: NOW * 1000,
    },
  })
}

describe('DeploymentPanel', () => {
  afterEach(() => setLocale('en'))

  it('lists API nodes, then workers, with their versions and last beats', () => {
    const wrapper = mountPanel({ redis_topology: 'standalone' })
    const rows = wrapper.findAll('[data-testid="deployment-row"]')
    expect(rows.map((r) => [r.attributes('data-kind'), r.attributes('data-id')])).toEqual([
      ['node', 'node-a'],
      ['node', 'node-b'],
      ['worker', 'worker-1'],
    ])
    expect(rows[0]?.get('[data-testid="deployment-version"]').text()).toBe('1.4.0')
    expect(rows[0]?.get('[data-testid="deployment-beat"]').text()).toBe('4 seconds ago')
    // the worker left behind: another version than the rest, and no beat for over 2 minutes
    expect(rows[2]?.find('[data-testid="deployment-odd"]').exists()).toBe(true)
    expect(rows[0]?.find('[data-testid="deployment-odd"]').exists()).toBe(false)
    expect(rows[2]?.attributes('data-stale')).toBe('true')
    expect(rows[0]?.attributes('data-stale')).toBe('false')
  })

  it('shows the Sentinel primary and the cluster shards up', () => {
    const sentinel = mountPanel({ redis_topology: 'sentinel', redis_primary: '10.0.0.7:6379' })
    expect(sentinel.get('[data-testid="deployment-topology"]').text()).toBe('Sentinel')
    expect(sentinel.get('[data-testid="deployment-detail"]').text()).toBe('primary at 10.0.0.7:6379')

    const cluster = mountPanel({ redis_topology: 'cluster', redis_shards: '2/3 up' })
    expect(cluster.get('[data-testid="deployment-detail"]').text()).toBe('2 of 3 shards up')
    expect(cluster.get('[data-testid="deployment-topology"]').classes()).toContain('el-tag--danger')

    const whole = mountPanel({ redis_topology: 'cluster', redis_shards: '3/3 up' })
    expect(whole.get('[data-testid="deployment-topology"]').classes()).toContain('el-tag--success')
  })

  it('says when the deployment did not answer, and when nothing beats', () => {
    const wrapper = mountPanel(
      { redis_topology: 'sentinel', redis_topology_error: 'ConnectionError' },
      { nodes: [], workers: [] },
    )
    expect(wrapper.get('[data-testid="deployment-detail"]').text()).toBe('not answering (ConnectionError)')
    expect(wrapper.get('[data-testid="deployment-topology"]').classes()).toContain('el-tag--danger')
    expect(wrapper.find('[data-testid="deployment-empty"]').exists()).toBe(true)
  })

  it('speaks Chinese too', async () => {
    await setLocale('zh-CN')
    const wrapper = mountPanel({ redis_topology: 'cluster', redis_shards: '3/3 up' })
    expect(wrapper.get('[data-testid="deployment-topology"]').text()).toBe('集群')
    expect(wrapper.get('[data-testid="deployment-detail"]').text()).toBe('在线分片 3/3')
    expect(wrapper.findAll('[data-testid="deployment-row"]')[0]?.text()).toContain('API 节点')
  })
})
