import { encodeKeyPath } from '@/utils/keys'

import { request } from './client'
import type {
  BatchAccepted,
  CacheFlushed,
  MonitoringStats,
  Task,
  TaskAccepted,
  TaskList,
  TaskStatus,
  Timeseries,
} from './types'

/** The server's cap on keys per batch refresh. */
export const MAX_BATCH_REFRESH = 10_000

/** Admin endpoints, all behind `Authorization: Bearer <token>`. */
export function createAdminApi(token: () => string | null) {
  const auth = () => ({ token: token() })
  return {
    stats: (signal?: AbortSignal) =>
      request<MonitoringStats>('/api/v1/monitoring/stats', { ...auth(), signal }),

    timeseries: (minutes: number, signal?: AbortSignal) =>
      request<Timeseries>('/api/v1/monitoring/timeseries', {
        ...auth(),
        query: { minutes },
        signal,
      }),

    tasks: (params: { status?: TaskStatus | ''; limit?: number } = {}, signal?: AbortSignal) =>
      request<TaskList>('/api/v1/tasks', {
        ...auth(),
        query: { status: params.status, limit: params.limit },
        signal,
      }),

    task: (id: string) => request<Task>(`/api/v1/tasks/${encodeURIComponent(id)}`, auth()),

    revokeTask: (id: string) =>
      request<unknown>(`/api/v1/tasks/${encodeURIComponent(id)}`, { ...auth(), method: 'DELETE' }),

    refresh: (imageKey: string) =>
      request<TaskAccepted>('/api/v1/tasks/refresh', {
        ...auth(),
        method: 'POST',
        body: { image_key: imageKey },
      }),

    batchRefresh: (imageKeys: string[]) =>
      request<BatchAccepted>('/api/v1/tasks/batch-refresh', {
        ...auth(),
        method: 'POST',
        body: { image_keys: imageKeys },
      }),

    warm: (prefix: string) =>
      request<TaskAccepted>('/api/v1/tasks/warm', {
        ...auth(),
        method: 'POST',
        body: { prefix },
      }),

    /** Flush every entry, or only the keys under `prefix`. */
    flushCache: (prefix?: string) =>
      request<CacheFlushed>('/api/v1/cache', {
        ...auth(),
        method: 'DELETE',
        query: { prefix },
      }),

    flushKey: (key: string) =>
      request<CacheFlushed>(`/api/v1/cache/${encodeKeyPath(key)}`, {
        ...auth(),
        method: 'DELETE',
      }),
  }
}

export type AdminApi = ReturnType<typeof createAdminApi>
