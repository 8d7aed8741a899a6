import { enableAutoUnmount, flushPromises, mount } from '@vue/test-utils'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'

import type { ApiErrorBody, ErrorCode, MonitoringStats, Task } from '@/api/types'
import { useAdminAuth } from '@/composables/useAdminAuth'
import { useSelection } from '@/stores/selection'
import AdminView from '@/views/AdminView.vue'

import { stubLayoutSize } from '../../../../tests/layout'

enableAutoUnmount(afterEach)

const TOKEN = 's3cret'
const NOW = Math.floor(Date.now() / 1000)

const stats: MonitoringStats = {
  cache: {
    l1: { hits: 90, misses: 10, hit_rate: 0.9 },
    l2: { hits: 6, misses: 4, hit_rate: 0.6 },
    overall: { hits: 96, misses: 4, hit_rate: 0.96 },
    signs: 4,
    storage_calls: 5,
    storage_errors: 0,
  },
  refresh: { succeeded: 10, failed: 1 },
  queue: { pending: 3, scheduled: 2 },
  workers: [{ id: 'w1', last_seen: NOW - 5, version: '0.1.0' }],
  nodes: [{ id: 'n1', last_seen: NOW - 3, version: '0.1.0' }],
  redis: { redis_topology: 'standalone' },
  tasks: { succeeded: 49, failed: 1, failure_rate: 0.02 },
  alerts: [{ code: 'queue_depth', level: 'warning', message: 'Queue depth above 100', value: 150, threshold: 100 }],
  degraded: false,
  generated_at: NOW,
}

const tasks: Task[] = [
  {
    task_id: 'task-running-1',
    name: 'batch_refresh',
    status: 'running',
    progress: { done: 40, failed: 2, total: 100 },
    enqueued_at: NOW - 30,
    started_at: NOW - 20,
    finished_at: null,
    result: null,
    error: null,
    retries: 0,
    requeued: 0,
    worker: 'w1',
  },
  {
    task_id: 'task-done-2',
    name: 'refresh',
    status: 'succeeded',
    progress: null,
    enqueued_at: NOW - 300,
    started_at: NOW - 299,
    finished_at: NOW - 298,
    result: { ok: true },
    error: null,
    retries: 1,
    requeued: 0,
    worker: null,
  },
]

type Handler = (init: RequestInit, url: URL) => Response | Promise<Response>

function json(status: number, body: unknown, headers: Record<string, string> = {}) {
  return new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json', ...headers } })
}

const errorBody = (code: ErrorCode, message: string): ApiErrorBody => ({ error: { code, message, details: null } })

/** A fake backend: checks the bearer token like the real one, routes by method and path. */
function installBackend(overrides: Record<string, Handler> = {}) {
  const calls: { method: string; path: string; body: unknown }[] = []
  const routes: Record<string, Handler> = {
    'GET /api/v1/monitoring/stats': () => json(200, stats),
    'GET /api/v1/monitoring/timeseries': () =>
      json(200, { points: [0, 1, 2].map((i) => ({ t: NOW - 180 + i * 60, hits: 10 * i, misses: i, errors: 0, queue_depth: i })) }),
    'GET /api/v1/tasks': () => json(200, { items: tasks }),
    'POST /api/v1/tasks/refresh': () => json(202, { task_id: 'new-task', status: 'queued' }),
    'POST /api/v1/tasks/batch-refresh': (init) =>
      json(202, { task_id: 'batch-task', count: (JSON.parse(String(init.body)) as { image_keys: string[] }).image_keys.length }),
    ...overrides,
  }
  const fetch = vi.fn(async (input: string, init: RequestInit = {}) => {
    const url = new URL(input, 'http://localhost')
    const method = init.method ?? 'GET'
    calls.push({ method, path: url.pathname, body: init.body ? JSON.parse(String(init.body)) : undefined })
    const auth = (init.headers as Record<string, string>).Authorization
    if (!auth) return json(401, errorBody('auth_required', 'Missing token'))
    if (auth !== `Bearer ${TOKEN}`) return json(403, errorBody('invalid_token', 'Wrong token'))
    const handler = routes[`${method} ${url.pathname}`]
    return handler ? handler(init, url) : json(404, errorBody('not_found', 'No route'))
  })
  vi.stubGlobal('fetch', fetch)
  return { calls, fetch, routes }
}

async function signIn(wrapper: ReturnType<typeof mount>, token: string) {
  await wrapper.get('input[data-testid="admin-token-input"]').setValue(token)
  await wrapper.get('form').trigger('submit')
  await flushPromises()
}

describe('AdminView', () => {
  beforeEach(() => {
    sessionStorage.clear()
    useAdminAuth().signOut()
    useSelection().clear()
    stubLayoutSize() // the charts draw once their chunk has loaded
  })
  afterEach(() => {
    document.body.innerHTML = ''
  })

  it('refuses a wrong token with a clear message and keeps nothing', async () => {
    installBackend()
    const wrapper = mount(AdminView, { attachTo: document.body })
    await signIn(wrapper, 'wrong')
    expect(wrapper.get('[data-testid="admin-login-error"]').text()).toContain('The admin token was rejected (403)')
    expect(sessionStorage.getItem('iuc.adminToken')).toBeNull()
    expect(wrapper.find('[data-testid="stat-cards"]').exists()).toBe(false)
  })

  it('signs in, keeps the token in sessionStorage and shows stats, alerts and live tasks', async () => {
    const { calls } = installBackend()
    const wrapper = mount(AdminView, { attachTo: document.body })
    await signIn(wrapper, `  ${TOKEN} `)
    await flushPromises()

    expect(sessionStorage.getItem('iuc.adminToken')).toBe(TOKEN)
    const hitRate = wrapper.get('[data-testid="stat-hit-rate"]')
    expect(hitRate.attributes('data-value')).toBe('0.96')
    expect(hitRate.get('[data-testid="stat-value"]').text()).toBe('96.0%')
    expect(wrapper.get('[data-testid="stat-hit-rate-l2"]').attributes('data-tone')).toBe('neutral')
    expect(wrapper.get('[data-testid="stat-queue-depth"]').attributes('data-value')).toBe('3')
    expect(wrapper.get('[data-testid="stat-workers"]').attributes('data-value')).toBe('1')
    expect(wrapper.get('[data-testid="stat-failure-rate"]').text()).toContain('2.0%')
    const deployment = wrapper.get('[data-testid="deployment-card"]')
    expect(deployment.get('[data-testid="deployment-redis"]').attributes('data-topology')).toBe('standalone')
    expect(
      deployment.findAll('[data-testid="deployment-row"]').map((row) => [row.attributes('data-kind'), row.attributes('data-id')]),
    ).toEqual([
      ['node', 'n1'],
      ['worker', 'w1'],
    ])

    const alert = wrapper.get('[data-testid="alert"]')
    expect(alert.attributes('data-code')).toBe('queue_depth')
    expect(alert.text()).toContain('Queue depth above 100')

    const rows = wrapper.findAll('[data-testid="task-row"]')
    expect(rows.map((row) => [row.attributes('data-task-id'), row.attributes('data-status')])).toEqual([
      ['task-running-1', 'running'],
      ['task-done-2', 'succeeded'],
    ])
    expect(rows[0]?.get('[data-testid="task-progress"]').text()).toContain('40 / 100')
    expect(rows[0]?.get('[data-testid="task-progress"]').text()).toContain('2 failed')
    expect(rows[0]?.find('[data-testid="task-revoke"]').exists()).toBe(true)
    expect(rows[1]?.find('[data-testid="task-revoke"]').exists()).toBe(false)

    expect(calls.some((c) => c.path === '/api/v1/monitoring/timeseries')).toBe(true)
    // The chart is a lazy chunk (ECharts): its first import can take seconds on a loaded machine.
    await vi.waitFor(() => expect(wrapper.find('[data-testid="chart-traffic"] [role="img"]').exists()).toBe(true), {
      timeout: 10_000,
    })
    expect(wrapper.get('[data-testid="chart-traffic"] [role="img"]').attributes('aria-label')).toBe(
      'Cache lookups per minute. 3 points; latest: Hits: 20, Misses: 2.',
    )
    expect(wrapper.get('[data-testid="chart-hit-rate"] [role="img"]').attributes('aria-label')).toContain('91%')
    expect(wrapper.get('[data-testid="admin-docs-link"]').attributes('href')).toBe('/docs')
  })

  it('shows the queue as unknown, not as empty, while its Redis does not answer', async () => {
    installBackend({
      'GET /api/v1/monitoring/stats': () => json(200, { ...stats, queue: { pending: null, scheduled: null }, alerts: [] }),
    })
    const wrapper = mount(AdminView, { attachTo: document.body })
    await signIn(wrapper, TOKEN)
    const queue = wrapper.get('[data-testid="stat-queue-depth"]')
    expect(queue.get('[data-testid="stat-value"]').text()).toBe('—')
    expect(queue.attributes('data-value')).toBe('')
    expect(queue.attributes('data-tone')).toBe('neutral')
    expect(queue.text()).not.toContain('0')
  })

  it('polls tasks faster while one runs and shows its new status', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'] })
    try {
      const backend = installBackend()
      sessionStorage.setItem('iuc.adminToken', TOKEN)
      useAdminAuth().signOut()
      const auth = useAdminAuth()
      await auth.signIn(TOKEN)
      const wrapper = mount(AdminView, { attachTo: document.body })
      await vi.advanceTimersByTimeAsync(0)
      expect(wrapper.findAll('[data-testid="task-row"]')[0]?.attributes('data-status')).toBe('running')

      backend.routes['GET /api/v1/tasks'] = () =>
        json(200, { items: [{ ...tasks[0], status: 'succeeded', progress: { done: 98, failed: 2, total: 100 } }] })
      await vi.advanceTimersByTimeAsync(2000)
      expect(wrapper.findAll('[data-testid="task-row"]')[0]?.attributes('data-status')).toBe('succeeded')
    } finally {
      vi.useRealTimers()
    }
  })

  it('keeps polling fast while a task is lost (cleanup puts it back on the queue)', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'] })
    try {
      const lost = { ...tasks[0]!, task_id: 'task-lost-3', status: 'lost' as const, worker: null }
      const backend = installBackend({ 'GET /api/v1/tasks': () => json(200, { items: [lost, tasks[1]] }) })
      await useAdminAuth().signIn(TOKEN)
      const wrapper = mount(AdminView, { attachTo: document.body })
      await vi.advanceTimersByTimeAsync(0)
      const row = () => wrapper.get('[data-task-id="task-lost-3"]')
      expect(row().attributes('data-status')).toBe('lost')
      expect(row().find('[data-testid="task-revoke"]').exists()).toBe(true)
      const taskCalls = () => backend.calls.filter((c) => c.path === '/api/v1/tasks').length
      const before = taskCalls()

      backend.routes['GET /api/v1/tasks'] = () => json(200, { items: [{ ...lost, status: 'queued' }, tasks[1]] })
      await vi.advanceTimersByTimeAsync(2000) // the fast interval, not the idle 5 s
      expect(taskCalls()).toBe(before + 1)
      expect(row().attributes('data-status')).toBe('queued')
    } finally {
      vi.useRealTimers()
    }
  })

  it('goes back to the sign-in form with the reason when the token stops working', async () => {
    const backend = installBackend()
    const wrapper = mount(AdminView, { attachTo: document.body })
    await signIn(wrapper, TOKEN)
    backend.routes['POST /api/v1/tasks/refresh'] = () => json(401, errorBody('auth_required', 'Token revoked'))

    await wrapper.get('input[data-testid="refresh-key-input"]').setValue('a.png')
    await wrapper.get('[data-testid="refresh-button"]').trigger('click')
    await flushPromises()
    expect(sessionStorage.getItem('iuc.adminToken')).toBeNull()
    expect(wrapper.get('[data-testid="admin-login-error"]').text()).toContain('401')
  })

  it('shows rate limiting and network trouble without signing out', async () => {
    const backend = installBackend()
    const wrapper = mount(AdminView, { attachTo: document.body })
    await signIn(wrapper, TOKEN)
    backend.routes['GET /api/v1/tasks'] = () =>
      json(429, errorBody('rate_limited', 'Too many'), { 'Retry-After': '30' })
    await wrapper.get('[data-testid="tasks-refresh"]').trigger('click')
    await flushPromises()
    expect(wrapper.get('[data-testid="admin-error"]').text()).toContain('Try again in 30 seconds')
    expect(sessionStorage.getItem('iuc.adminToken')).toBe(TOKEN)

    backend.routes['GET /api/v1/tasks'] = () => Promise.reject(new TypeError('Failed to fetch'))
    await wrapper.get('[data-testid="tasks-refresh"]').trigger('click')
    await flushPromises()
    expect(wrapper.get('[data-testid="admin-error"]').text()).toContain('Cannot reach the server')
  })

  it('refreshes one key and a batch from the text area and the gallery selection', async () => {
    const { calls } = installBackend()
    useSelection().set(['sel/1.png', 'sel/2.png'])
    const wrapper = mount(AdminView, { attachTo: document.body })
    await signIn(wrapper, TOKEN)

    await wrapper.get('input[data-testid="refresh-key-input"]').setValue('albums/a.png')
    await wrapper.get('[data-testid="refresh-button"]').trigger('click')
    await flushPromises()
    expect(calls).toContainEqual({ method: 'POST', path: '/api/v1/tasks/refresh', body: { image_key: 'albums/a.png' } })

    await wrapper.get('textarea[data-testid="batch-textarea"]').setValue('x.png\n\n y.png \nx.png')
    expect(wrapper.get('[data-testid="batch-count"]').text()).toContain('2 keys')
    await wrapper.get('[data-testid="use-selection"]').trigger('click')
    expect(wrapper.get('[data-testid="batch-count"]').text()).toContain('4 keys')
    await wrapper.get('[data-testid="batch-refresh-button"]').trigger('click')
    await flushPromises()
    expect(calls).toContainEqual({
      method: 'POST',
      path: '/api/v1/tasks/batch-refresh',
      body: { image_keys: ['x.png', 'y.png', 'sel/1.png', 'sel/2.png'] },
    })
  })

  it('blocks keys the backend would refuse before sending them', async () => {
    const { calls } = installBackend()
    const wrapper = mount(AdminView, { attachTo: document.body })
    await signIn(wrapper, TOKEN)
    await wrapper.get('textarea[data-testid="batch-textarea"]').setValue('ok.png\n../etc/passwd')
    expect(wrapper.text()).toContain('Keys may not contain “.” or “..” segments.')
    expect(wrapper.get('[data-testid="batch-refresh-button"]').attributes('disabled')).toBeDefined()
    expect(calls.some((c) => c.path === '/api/v1/tasks/batch-refresh')).toBe(false)
  })

  /** Element Plus's confirmation dialog, answered with its primary button. */
  async function confirmDialog() {
    await flushPromises()
    const confirm = document.querySelector<HTMLButtonElement>('.el-message-box .el-button--primary')
    expect(confirm).not.toBeNull()
    confirm?.click()
    await flushPromises()
  }

  const messages = () => [...document.querySelectorAll('.el-message')].map((m) => m.textContent?.trim())

  it('warms a prefix and flushes a prefix after confirming, saying what happened', async () => {
    const { calls, fetch } = installBackend({
      'POST /api/v1/tasks/warm': () => json(202, { task_id: 'warm-task', status: 'queued' }),
      'DELETE /api/v1/cache': () => json(200, { flushed: 3 }),
    })
    const wrapper = mount(AdminView, { attachTo: document.body })
    await signIn(wrapper, TOKEN)

    await wrapper.get('input[data-testid="warm-prefix-input"]').setValue(' albums/ ')
    await wrapper.get('[data-testid="warm-button"]').trigger('click')
    await flushPromises()
    expect(calls).toContainEqual({ method: 'POST', path: '/api/v1/tasks/warm', body: { prefix: 'albums/' } })
    expect(messages()).toContain('Warm-up queued (task warm-task)')

    await wrapper.get('input[data-testid="flush-target-input"]').setValue('albums/')
    await wrapper.get('[data-testid="flush-button"]').trigger('click')
    expect(calls.some((c) => c.method === 'DELETE')).toBe(false) // not before the answer
    await confirmDialog()
    expect(calls).toContainEqual({ method: 'DELETE', path: '/api/v1/cache', body: undefined })
    expect(fetch.mock.calls.find(([, init]) => init?.method === 'DELETE')?.[0]).toBe('/api/v1/cache?prefix=albums%2F')
    expect(messages()).toContain('Flushed 3 entries')
  })

  it('shows a failed action as a message and stays signed in', async () => {
    installBackend({
      'POST /api/v1/tasks/warm': () => json(503, errorBody('queue_unavailable', 'Queue down')),
    })
    const wrapper = mount(AdminView, { attachTo: document.body })
    await signIn(wrapper, TOKEN)
    await wrapper.get('[data-testid="warm-button"]').trigger('click')
    await flushPromises()
    expect(messages().some((m) => m?.includes('Queue down'))).toBe(true)
    expect(wrapper.find('[data-testid="stat-cards"]').exists()).toBe(true)
    expect(wrapper.get('[data-testid="warm-button"]').classes()).not.toContain('is-loading')
  })

  it('revokes a running task after confirming', async () => {
    const { calls } = installBackend({
      'DELETE /api/v1/tasks/task-running-1': () => new Response(null, { status: 204 }),
    })
    const wrapper = mount(AdminView, { attachTo: document.body })
    await signIn(wrapper, TOKEN)
    await wrapper.get('[data-task-id="task-running-1"] [data-testid="task-revoke"]').trigger('click')
    await confirmDialog()
    expect(calls).toContainEqual({ method: 'DELETE', path: '/api/v1/tasks/task-running-1', body: undefined })
    expect(messages().some((m) => m?.includes('task-running-1'))).toBe(true)
  })
})
