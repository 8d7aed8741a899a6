import { useTimeoutFn } from '@vueuse/core'
import {
  getCurrentScope,
  onScopeDispose,
  readonly,
  ref,
  shallowReadonly,
  shallowRef,
  toValue,
  watch,
  type MaybeRefOrGetter,
  type Ref,
} from 'vue'

import { ApiError } from '@/api/client'

import { usePageVisibility } from './usePageVisibility'

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
 * Stops while the page is hidden and calls at once when it is shown again. After a failure it
 * waits longer each time, and at least as long as a 429's `Retry-After` asks.
 *
 * The timer is VueUse's `useTimeoutFn` and the page visibility VueUse's
 * `useDocumentVisibility`. What stays here is what VueUse's `useTimeoutPoll` does not do: it
 * starts its next timer while the immediate call is still running (so a slow call overlaps the
 * next one and a failure cannot lengthen the wait), it stops for good when the call throws,
 * and it has no backoff, no `Retry-After`, no "call now" and no cancelling of a stale call.
 */
export function usePolling(
  task: (signal: AbortSignal) => Promise<unknown>,
  options: UsePollingOptions,
): UsePollingReturn {
  const { interval, enabled = true, maxBackoff = 60_000, onError } = options
  const pageVisible = usePageVisibility()
  const error = shallowRef<unknown>(null)
  const pending = ref(false)
  const lastSuccess = ref<number | null>(null)
  let delay = toValue(interval)
  let failures = 0
  let stopped = false
  let controller: AbortController | null = null
  let generation = 0

  const timer = useTimeoutFn(() => void refresh(), () => delay, { immediate: false })
  const active = () => !stopped && toValue(enabled) && pageVisible.value

  function schedule(wait: number) {
    delay = wait
    if (active()) timer.start()
    else timer.stop()
  }

  async function refresh(): Promise<void> {
    timer.stop()
    controller?.abort()
    const current = new AbortController()
    controller = current
    const run = ++generation
    pending.value = true
    // Read after the call: the interval may depend on what it fetched (e.g. a running task).
    let wait: number
    try {
      await task(current.signal)
      if (run !== generation) return
      failures = 0
      error.value = null
      lastSuccess.value = Date.now()
      wait = toValue(interval)
    } catch (reason) {
      if (run !== generation) return
      if (reason instanceof ApiError && reason.kind === 'aborted') return
      failures++
      error.value = reason
      if (onError?.(reason) === false) {
        stopped = true
        return
      }
      wait = Math.min(toValue(interval) * 2 ** failures, maxBackoff)
      if (reason instanceof ApiError && reason.retryAfter !== null) {
        wait = Math.max(wait, reason.retryAfter * 1000)
      }
    } finally {
      if (run === generation) pending.value = false
    }
    if (run === generation) schedule(wait)
  }

  watch(
    active,
    (isActive) => {
      if (isActive) void refresh()
      else timer.stop()
    },
    { immediate: true },
  )

  // A new interval applies to the wait already running (not after a failure's backoff).
  watch(
    () => toValue(interval),
    (value) => {
      if (timer.isPending.value && !failures) schedule(value)
    },
  )

  if (getCurrentScope()) {
    onScopeDispose(() => {
      stopped = true
      generation++
      controller?.abort()
    })
  }

  return {
    error: shallowReadonly(error),
    pending: readonly(pending),
    lastSuccess: readonly(lastSuccess),
    refresh,
  }
}
