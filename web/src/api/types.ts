/** Shapes of the backend's JSON API (api/http). Times are epoch seconds. */

export interface ApiErrorBody {
  error: { code: string; message: string; details: unknown }
}

export interface ImageItem {
  key: string
  size: number
  etag: string | null
  content_type: string | null
  last_modified: number | string | null
}

export interface ImagePage {
  items: ImageItem[]
  next_cursor: string | null
}

export interface ResolvedUrl {
  key: string
  url: string
  expires_at: number
  refresh_at: number
  etag: string | null
  content_type?: string | null
  size?: number | null
}

export interface ResolveErrorItem {
  key: string
  code: string
  message: string
}

export interface BatchResolveResponse {
  items: ResolvedUrl[]
  errors: ResolveErrorItem[]
}

export const TASK_STATUSES = [
  'queued',
  'running',
  'retrying',
  'succeeded',
  'failed',
  'lost',
  'revoked',
] as const

export type TaskStatus = (typeof TASK_STATUSES)[number]

/** Statuses after which a task never changes again. */
export const FINAL_TASK_STATUSES: ReadonlySet<TaskStatus> = new Set([
  'succeeded',
  'failed',
  'lost',
  'revoked',
])

export interface TaskProgress {
  done: number
  failed: number
  /** null while the total is still unknown (a warm job still listing its prefix). */
  total: number | null
}

export interface Task {
  task_id: string
  name: string
  status: TaskStatus
  progress: TaskProgress | null
  enqueued_at: number | null
  started_at: number | null
  finished_at: number | null
  result: unknown
  error: string | null
  retries: number
}

export interface TaskAccepted {
  task_id: string
  status?: TaskStatus
  count?: number
}

export interface HitStats {
  hits: number
  misses: number
  hit_rate: number | null
}

export interface Alert {
  code: string
  level: 'info' | 'warning' | 'critical' | 'error' | string
  message: string
  value: number | null
  threshold: number | null
}

export interface MonitoringStats {
  cache: {
    l1: HitStats
    l2: HitStats
    overall: HitStats
    signs: number
    storage_calls: number
    storage_errors: number
  }
  refresh: { succeeded: number; failed: number }
  queue: { pending: number; scheduled: number }
  workers: { id: string; last_seen: number }[]
  tasks: { failure_rate: number | null }
  alerts: Alert[]
  degraded: boolean
  generated_at: number
}

export interface TimeseriesPoint {
  t: number
  hits: number
  misses: number
  errors: number
  queue_depth: number
}

export interface Timeseries {
  points: TimeseriesPoint[]
}
