/**
 * The state machine behind `<SmartImage>`: an image that does not break when its signed URL
 * expires, the backend hiccups or the tab stays open for days.
 *
 * ```
 * idle ──active──▶ resolving ──URL──▶ loading ──img load──▶ loaded ──refresh_at──▶ (new URL)
 *                      ▲                 │ img error / resolve failure
 *                      └──backoff────────┤ drop cached URL, re-resolve with refresh=1, 3 tries
 *                                        ├─▶ proxy URL (/p/<key>) once tries are used up
 *                                        └─▶ error ──retry()──▶ starts over
 * ```
 *
 * The composable does not load the image itself: the `<img>` reports back through
 * `onImageLoad` / `onImageError`, so each URL is fetched once, by the element that shows it.
 * Give the `<img>` `:key="loadId"`: a retry may hand out the very same URL (signing is
 * deterministic per window), and only a fresh element makes the browser try it again.
 */
import {
  computed,
  getCurrentScope,
  onScopeDispose,
  readonly,
  ref,
  shallowReadonly,
  shallowRef,
  toValue,
  watch,
  type ComputedRef,
  type MaybeRefOrGetter,
  type Ref,
} from 'vue'

import type { CachedUrl } from '@/utils/imageCache'
import { useImageResolver } from '@/utils/imageServices'
import { proxyUrl, redirectUrl, withApiBase } from '@/utils/keys'
import { isPermanentResolveFailure, type Resolver } from '@/utils/resolver'
import {
  clampDelay,
  defaultClock,
  defaultTimers,
  MAX_TIMER_DELAY_MS,
  type Clock,
  type TimerId,
  type Timers,
} from '@/utils/timers'

export type SmartImageState = 'idle' | 'resolving' | 'loading' | 'loaded' | 'error'

/**
 * How the browser gets the bytes:
 * - `auto`: signed URL straight from storage; proxy if that keeps failing (default);
 * - `direct`: signed URL only, never the proxy;
 * - `redirect`: the stable `/i/<key>` URL, which 302s to a signed URL; proxy if it fails;
 * - `proxy`: `/p/<key>`, bytes streamed by the backend.
 */
export type SmartImageMode = 'auto' | 'direct' | 'redirect' | 'proxy'

/** Which kind of URL `src` currently holds. */
export type SmartImageSource = 'signed' | 'redirect' | 'proxy'

/** The `<img>` element reported an error for `src` (the browser gives no reason). */
export class ImageLoadError extends Error {
  override readonly name = 'ImageLoadError'

  constructor(readonly src: string) {
    super('The image could not be loaded')
  }
}

export interface UseSmartImageOptions {
  /**
   * Delivery mode.
   * @default 'auto'
   */
  mode?: MaybeRefOrGetter<SmartImageMode>
  /**
   * Start once this is true (lazy loading passes "has been near the viewport").
   * @default true
   */
  active?: MaybeRefOrGetter<boolean>
  /**
   * Whether the image is on screen now. The URL is re-resolved at `refresh_at` only while
   * visible; an image scrolled back into view after its `refresh_at` is refreshed at once.
   * @default the value of `active`
   */
  visible?: MaybeRefOrGetter<boolean>
  /**
   * Resolver to use.
   * @default the provided one, else the app-wide resolver over the IndexedDB cache
   */
  resolver?: Pick<Resolver, 'resolve' | 'invalidate'>
  /**
   * Tries after a failure before falling back to the proxy (or giving up).
   * @default 3
   */
  retries?: number
  /**
   * Delay before the first try in ms; each next try waits twice as long.
   * @default 500
   */
  retryDelay?: number
  /**
   * Upper bound of a single backoff delay in ms.
   * @default 10_000
   */
  maxRetryDelay?: number
  /**
   * Random spread of each delay, as a fraction (0.2 = ±20 %), so images that failed together do
   * not retry together.
   * @default 0.2
   */
  jitter?: number
  /** @default Math.random */
  random?: () => number
  /**
   * Re-resolve this many ms before `refresh_at`. The backend issues a newer URL exactly at
   * `refresh_at` and keeps the current one valid for at least an hour after it, so asking
   * earlier only returns the same URL again; keep 0 unless a backend means something else.
   * @default 0
   */
  refreshLead?: number
  /**
   * Never re-resolve a visible image more often than this (ms), whatever `refresh_at` says.
   * @default 30_000
   */
  minRefreshInterval?: number
  /** @default setTimeout / clearTimeout */
  timers?: Timers
  /** @default Date.now */
  clock?: Clock
  onLoad?: (src: string) => void
  onError?: (error: unknown) => void
}

export interface UseSmartImageReturn {
  state: Readonly<Ref<SmartImageState>>
  /** URL for the `<img>`; undefined until resolved. */
  src: Readonly<Ref<string | undefined>>
  source: Readonly<Ref<SmartImageSource | undefined>>
  /** Last failure: an `ApiError`, a `ResolveError` or an {@link ImageLoadError}. */
  error: Readonly<Ref<unknown>>
  /** Tries used since the last (re)start. */
  attempt: Readonly<Ref<number>>
  /** Changes whenever the `<img>` must be (re)created; use it as its `key`. */
  loadId: Readonly<Ref<number>>
  isLoading: ComputedRef<boolean>
  isReady: ComputedRef<boolean>
  /** Starts over from the beginning: resolve, load, the full number of tries. */
  retry: () => void
  /** Call from the `<img>` `load` event, passing the `loadId` it was rendered with. */
  onImageLoad: (loadId?: number) => void
  /** Call from the `<img>` `error` event, passing the `loadId` it was rendered with. */
  onImageError: (loadId?: number) => void
}

export function useSmartImage(
  imageKey: MaybeRefOrGetter<string>,
  options: UseSmartImageOptions = {},
): UseSmartImageReturn {
  const {
    mode = 'auto',
    active = true,
    visible = active,
    resolver = useImageResolver(),
    retries = 3,
    retryDelay = 500,
    maxRetryDelay = 10_000,
    jitter = 0.2,
    random = Math.random,
    refreshLead = 0,
    minRefreshInterval = 30_000,
    timers = defaultTimers,
    clock = defaultClock,
    onLoad,
    onError,
  } = options

  const state = ref<SmartImageState>('idle')
  const src = ref<string>()
  const source = ref<SmartImageSource>()
  const error = shallowRef<unknown>(null)
  const attempt = ref(0)
  const loadId = ref(0)
  const entry = shallowRef<CachedUrl | null>(null)

  /** Bumped on every (re)start: answers for an older run are dropped. */
  let generation = 0
  let retryTimer: TimerId | undefined
  let refreshTimer: TimerId | undefined
  let usedProxyFallback = false
  /**
   * Etag of the latest resolve. The proxy fallback carries it (`/p/<key>?v=<etag>`): after a
   * failure the forced re-resolve re-validates the object, so once it is fixed the fallback is a
   * new URL, not the browser's cached copy of the broken bytes (the signed URL itself stays the
   * same for the whole window, cached bad bytes included).
   */
  let lastEtag: string | null = null

  const currentMode = () => toValue(mode)

  function clearTimers() {
    timers.clearTimeout(retryTimer)
    timers.clearTimeout(refreshTimer)
    retryTimer = undefined
    refreshTimer = undefined
  }

  function load(kind: SmartImageSource, url: string) {
    source.value = kind
    src.value = url
    loadId.value++
    state.value = 'loading'
  }

  function resolveAndLoad(refresh: boolean) {
    const run = generation
    const key = toValue(imageKey)
    state.value = 'resolving'
    resolver.resolve(key, { refresh }).then(
      (resolved) => {
        if (run !== generation) return
        entry.value = resolved
        lastEtag = resolved.etag
        load('signed', withApiBase(resolved.url))
      },
      (reason: unknown) => {
        if (run !== generation) return
        handleFailure(reason)
      },
    )
  }

  function start() {
    generation++
    clearTimers()
    attempt.value = 0
    error.value = null
    entry.value = null
    usedProxyFallback = false
    lastEtag = null
    const key = toValue(imageKey)
    if (!key) {
      state.value = 'idle'
      src.value = undefined
      source.value = undefined
      return
    }
    switch (currentMode()) {
      case 'proxy':
        load('proxy', proxyUrl(key))
        break
      case 'redirect':
        load('redirect', redirectUrl(key))
        break
      default:
        resolveAndLoad(false)
    }
  }

  function backoff(tryNumber: number): number {
    const base = Math.min(retryDelay * 2 ** (tryNumber - 1), maxRetryDelay)
    const spread = 1 - jitter + 2 * jitter * random()
    return Math.round(base * spread)
  }

  function fail(reason: unknown) {
    clearTimers()
    error.value = reason
    state.value = 'error'
    onError?.(reason)
  }

  /** One more try of the current kind of URL, after the backoff delay. */
  function tryAgain() {
    const key = toValue(imageKey)
    switch (source.value) {
      case 'proxy':
        load('proxy', proxyUrl(key))
        break
      case 'redirect':
        // A browser may have cached the 302 to the URL that just failed: ask for a new one.
        load('redirect', `${redirectUrl(key)}?retry=${attempt.value}`)
        break
      default:
        resolveAndLoad(true)
    }
  }

  function handleFailure(reason: unknown) {
    const key = toValue(imageKey)
    error.value = reason
    timers.clearTimeout(refreshTimer)
    if (source.value === 'signed' || source.value === undefined) {
      // Nobody else should be handed the URL that just failed.
      entry.value = null
      void resolver.invalidate(key).catch(() => {})
    }
    if (usedProxyFallback || isPermanentResolveFailure(reason)) {
      fail(reason)
      return
    }
    if (attempt.value < retries) {
      attempt.value++
      state.value = 'resolving'
      const run = generation
      retryTimer = timers.setTimeout(() => {
        if (run === generation) tryAgain()
      }, backoff(attempt.value))
      return
    }
    const mode = currentMode()
    if ((mode === 'auto' || mode === 'redirect') && source.value !== 'proxy') {
      usedProxyFallback = true
      load('proxy', proxyUrl(key, lastEtag))
      return
    }
    fail(reason)
  }

  function onImageLoad(id?: number) {
    if (id !== undefined && id !== loadId.value) return
    if (state.value !== 'loading' && state.value !== 'loaded') return
    state.value = 'loaded'
    error.value = null
    if (src.value) onLoad?.(src.value)
    scheduleRefresh()
  }

  function onImageError(id?: number) {
    if (id !== undefined && id !== loadId.value) return
    if (state.value !== 'loading' && state.value !== 'loaded') return
    handleFailure(new ImageLoadError(src.value ?? ''))
  }

  // ---- keeping a visible image's URL fresh ------------------------------------------------

  function refreshDue(): number | null {
    if (source.value !== 'signed' || !entry.value) return null
    return entry.value.refresh_at * 1000 - refreshLead
  }

  function scheduleRefresh(notBefore = 0) {
    timers.clearTimeout(refreshTimer)
    refreshTimer = undefined
    const due = refreshDue()
    if (due === null || state.value !== 'loaded' || !toValue(visible)) return
    const wait = Math.max(due - clock(), notBefore)
    refreshTimer = timers.setTimeout(refreshNow, clampDelay(wait))
  }

  function refreshNow() {
    refreshTimer = undefined
    const due = refreshDue()
    if (due === null || state.value !== 'loaded' || !toValue(visible)) return
    // A timer clamped to ~24.8 days fired early: just wait again.
    if (due - clock() > MAX_TIMER_DELAY_MS / 2) {
      scheduleRefresh()
      return
    }
    const run = generation
    resolver.resolve(toValue(imageKey), { bypassCache: true }).then(
      (resolved) => {
        if (run !== generation || state.value !== 'loaded') return
        entry.value = resolved
        const url = withApiBase(resolved.url)
        // Same URL (same signing window): nothing to swap. A new one loads in place: the old
        // picture stays until the new one is decoded, and its load/error events apply as usual.
        if (url !== src.value) src.value = url
        scheduleRefresh(minRefreshInterval)
      },
      (reason: unknown) => {
        if (run !== generation || state.value !== 'loaded') return
        // The current URL stays valid until `expires_at`: keep it and try again later.
        if (isPermanentResolveFailure(reason)) return
        scheduleRefresh(minRefreshInterval)
      },
    )
  }

  // ---- wiring -----------------------------------------------------------------------------

  function retry() {
    // Forget the URL that failed, or the <img> would fetch it once more while resolving.
    src.value = undefined
    source.value = undefined
    start()
  }

  watch(
    () => [toValue(imageKey), currentMode()] as const,
    () => {
      if (toValue(active)) start()
      else {
        generation++
        clearTimers()
        state.value = 'idle'
        src.value = undefined
        source.value = undefined
        entry.value = null
      }
    },
  )

  watch(
    () => toValue(active),
    (isActive) => {
      if (isActive && state.value === 'idle') start()
    },
    { immediate: true },
  )

  watch(
    () => toValue(visible),
    (isVisible) => {
      if (isVisible) scheduleRefresh()
      else {
        timers.clearTimeout(refreshTimer)
        refreshTimer = undefined
      }
    },
  )

  if (getCurrentScope()) {
    onScopeDispose(() => {
      generation++
      clearTimers()
    })
  }

  return {
    state: readonly(state),
    src: readonly(src),
    source: readonly(source),
    error: shallowReadonly(error),
    attempt: readonly(attempt),
    loadId: readonly(loadId),
    isLoading: computed(() => state.value === 'resolving' || state.value === 'loading'),
    isReady: computed(() => state.value === 'loaded'),
    retry,
    onImageLoad,
    onImageError,
  }
}
