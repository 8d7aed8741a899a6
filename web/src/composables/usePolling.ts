import {
  getCurrentScope,
  onScopeDispose,
  readonly,
  shallowReadonly,
  ref,
  shallowRef,
  toValue,
  watch,
  type MaybeRefOrGetter,
  type Ref,
} from 'vue'

import { ApiError } from '@/api/client'
import { defaultTimers, type TimerId, type Timers } from '@/utils/timers'

import { useDocumentVisible } from './useDocumentVisible'

export interface UsePollingOptions {
  /** Milliseconds between the end of one call and the start of the next. */
  interval: MaybeRefOrGetter<number>
  /**
   * Poll only while true.
   * @default true
   */
  enabled?: MaybeRefOrGetter<boolean>
  /**
   * Longest wait after repeated failures (the interval doubles per failure up to this).
   * @default 60_000
   */
  maxBackoff?: number
  /** Gets every failure; return `false` to stop polling (e.g. on 401). */
  onError?: (error: unknown) => boolean | void
  timers?: Timers
}

export interface UsePollingReturn {
  error: Readonly<Ref<unknown>>
  /** A call is running. */
  pending: Readonly<Ref<boolean>>
  /** Epoch ms of the last successful call. */
  lastSuccess: Readonly<Ref<number | null>>
  /** Calls now (and restarts the interval). */
  refresh: () => Promise<void>
}

/**
 * Calls `task` now and then again `interval` ms after each call ends (calls never overlap).
 * Stops while the page is hidden and catches up when it is shown again. After a failure it
 * waits longer each time, and at least as long as a 429's `Retry-After` asks.
 */
export function usePolling(
  task: (signal: AbortSignal) => Promise<unknown>,
  options: UsePollingOptions,
): UsePollingReturn {
  const { interval, enabled = true, maxBackoff = 60_000, onError, timers = defaultTimers } = options
  const pageVisible = useDocumentVisible()
  const error = shallowRef<unknown>(null)
  const pending = ref(false)
  const lastSuccess = ref<number | null>(null)
  let timer: TimerId | undefined
  let failures = 0
  let stopped = false
  let controller: AbortController | null = null
  let generation = 0

  const active = () => !stopped && toValue(enabled) && pageVisible.value

  function schedule(delay: number) {
    timers.clearTimeout(timer)
    timer = undefined
    if (active()) timer = timers.setTimeout(() => void refresh(), delay)
  }

  async function refresh(): Promise<void> {
    timers.clearTimeout(timer)
    timer = undefined
    controller?.abort()
    const current = new AbortController()
    controller = current
    const run = ++generation
    pending.value = true
    // Read after the call: the interval may depend on what it fetched (e.g. a running task).
    let delay: number
    try {
      await task(current.signal)
      if (run !== generation) return
      failures = 0
      error.value = null
      lastSuccess.value = Date.now()
      delay = toValue(interval)
    } catch (reason) {
      if (run !== generation) return
      if (reason instanceof ApiError && reason.kind === 'aborted') return
      failures++
      error.value = reason
      if (onError?.(reason) === false) {
        stopped = true
        return
      }
      delay = Math.min(toValue(interval) * 2 ** failures, maxBackoff)
      if (reason instanceof ApiError && reason.retryAfter !== null) {
        delay = Math.max(delay, reason.retryAfter * 1000)
      }
    } finally {
      if (run === generation) pending.value = false
    }
    if (run === generation) schedule(delay)
  }

  watch(
    () => active(),
    (isActive) => {
      if (isActive) void refresh()
      else {
        timers.clearTimeout(timer)
        timer = undefined
      }
    },
    { immediate: true },
  )

  watch(
    () => toValue(interval),
    () => {
      if (timer !== undefined && !pending.value) schedule(toValue(interval))
    },
  )

  if (getCurrentScope()) {
    onScopeDispose(() => {
      stopped = true
      generation++
      controller?.abort()
      timers.clearTimeout(timer)
    })
  }

  return {
    error: shallowReadonly(error),
    pending: readonly(pending),
    lastSuccess: readonly(lastSuccess),
    refresh,
  }
}
