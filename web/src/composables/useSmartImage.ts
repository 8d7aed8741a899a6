/**
 * The state machine behind `<SmartImage>`: an image that does not break when its signed URL
 * expires, the backend hiccups or the tab stays open for days.
 *
 * ```
 * idle ──active──▶ resolving ──URL──▶ loading ──img load──▶ loaded ──refresh_at──▶ (new URL)
 *                      ▲                 │ img error / resolve failure
 *                      │                 ├─▶ 429: wait Retry-After, same URL again (no try used)
 *                      └──backoff────────┤ drop cached URL, re-resolve with refresh=1, 3 tries
 *                                        ├─▶ proxy URL (/p/<key>) once tries are used up
 *                                        └─▶ error ──retry()──▶ starts over
 * ```
 *
 * An `<img>` error of a URL of the page's origin is probed once (`utils/imageProbe.ts`): a 429
 * holds the page's shared delivery wait and the image stays `loading` until it is over; images
 * that fail meanwhile join it without a probe of their own (`DeliveryLimit`).
 *
 * The composable does not load the image itself: the `<img>` reports back through
 * `onImageLoad` / `onImageError`, so each URL is fetched once, by the element that shows it.
 * Give the `<img>` `:key="loadId"`: a retry may hand out the very same URL (signing is
 * deterministic per window), and only a fresh element makes the browser try it again.
 *
 * The rules it follows are elsewhere: which URL a mode uses and when it may fall back to the
 * proxy (`utils/imageDelivery.ts`), what to do after a failure (`utils/imageRetry.ts`), the
 * timer that re-resolves a visible image at `refresh_at` (`useRefreshTimer`).
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
  type MaybeRefOrGetter,
} from 'vue'

import type { CachedUrl } from '@/utils/imageCache'
import {
  firstSource,
  ImageLoadError,
  proxyFallbackUrl,
  stableUrl,
  type SmartImageSource,
} from '@/utils/imageDelivery'
import type { ImageRateLimit } from '@/utils/imageProbe'
import { nextStep, rateLimitOf, retryPolicy, waitSpread } from '@/utils/imageRetry'
import { useDeliveryLimit, useImageResolver } from '@/utils/imageServices'
import { withApiBase } from '@/utils/keys'
import { isPermanentResolveFailure } from '@/utils/resolver'
import { defaultClock, defaultTimers, type TimerId } from '@/utils/timers'
import { ORIGINAL, parseVariantTag, variantTag } from '@/utils/variants'

import { useRefreshTimer } from './useRefreshTimer'

import type { SmartImageState, UseSmartImageOptions, UseSmartImageReturn } from './smartImageContract'

export { ImageLoadError, type SmartImageMode, type SmartImageSource } from '@/utils/imageDelivery'
export type { SmartImageState, UseSmartImageOptions, UseSmartImageReturn } from './smartImageContract'

export function useSmartImage(
  imageKey: MaybeRefOrGetter<string>,
  options: UseSmartImageOptions = {},
): UseSmartImageReturn {
  const {
    mode = 'auto',
    variant = ORIGINAL,
    active = true,
    visible = active,
    resolver = useImageResolver(),
    deliveryLimit = useDeliveryLimit(),
    refreshLead = 0,
    minRefreshInterval = 30_000,
    timers = defaultTimers,
    clock = defaultClock,
    onLoad,
    onError,
  } = options
  const policy = retryPolicy(options)

  const state = ref<SmartImageState>('idle')
  const src = ref<string>()
  const source = ref<SmartImageSource>()
  const error = shallowRef<unknown>(null)
  const attempt = ref(0)
  const waitingUntil = ref<number | null>(null)
  const loadId = ref(0)
  const entry = shallowRef<CachedUrl | null>(null)

  /** Bumped on every (re)start: answers for an older run are dropped. */
  let generation = 0
  let retryTimer: TimerId | undefined
  let usedProxyFallback = false
  /** Rate-limit waits since the last (re)start. */
  let waits = 0
  /** Whether the latest resolve asked to re-validate; a refused one is asked again the same way. */
  let lastRefresh = false
  /**
   * Etag of the latest resolve. The proxy fallback carries it (`/p/<key>?v=<etag>`): after a
   * failure the forced re-resolve re-validates the object, so once it is fixed the fallback is a
   * new URL, not the browser's cached copy of the broken bytes (the signed URL itself stays the
   * same for the whole window, cached bad bytes included).
   */
  let lastEtag: string | null = null

  const currentMode = () => toValue(mode)
  const currentVariant = () => toValue(variant)

  const refreshTimer = useRefreshTimer({
    due: () =>
      source.value === 'signed' && entry.value ? entry.value.refresh_at * 1000 - refreshLead : null,
    enabled: () => state.value === 'loaded',
    visible,
    onDue: refreshUrl,
    timers,
    clock,
  })

  function clearTimers() {
    timers.clearTimeout(retryTimer)
    retryTimer = undefined
    waitingUntil.value = null
    refreshTimer.cancel()
  }

  function load(kind: SmartImageSource, url: string) {
    source.value = kind
    src.value = url
    loadId.value++
    state.value = 'loading'
  }

  /** Loads a URL of kind `kind`: a signed one is resolved first (`refresh` re-validates). */
  function loadFrom(kind: SmartImageSource, refresh: boolean) {
    if (kind !== 'signed') {
      load(kind, stableUrl(kind, toValue(imageKey), attempt.value, currentVariant()))
      return
    }
    const run = generation
    state.value = 'resolving'
    lastRefresh = refresh
    resolver.resolve(toValue(imageKey), { refresh, variant: currentVariant() }).then(
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
    waits = 0
    lastEtag = null
    if (!toValue(imageKey)) {
      state.value = 'idle'
      src.value = undefined
      source.value = undefined
      return
    }
    loadFrom(firstSource(currentMode()), false)
  }

  function fail(reason: unknown) {
    clearTimers()
    error.value = reason
    state.value = 'error'
    onError?.(reason)
  }

  function handleFailure(reason: unknown) {
    const key = toValue(imageKey)
    error.value = reason
    refreshTimer.cancel()
    const failure = { reason, attempt: attempt.value, waits, source: source.value, usedProxyFallback }
    const step = nextStep({ ...failure, mode: currentMode() }, policy)
    if (step.action === 'wait') {
      waitOut(reason instanceof ImageLoadError, step.delay)
      return
    }
    // A 429 says nothing about the URL; any other failure does.
    if ((source.value === 'signed' || source.value === undefined) && !rateLimitOf(reason)?.seen) {
      // Nobody else should be handed the URL that just failed (a wider one may have stood in).
      const failed = (entry.value && parseVariantTag(entry.value.variant ?? 'original')) || currentVariant()
      entry.value = null
      void resolver.invalidate(key, failed).catch(() => {})
    }
    switch (step.action) {
      case 'retry': {
        attempt.value++
        state.value = 'resolving'
        const run = generation
        // One more try of the current kind of URL (a signed one re-validated).
        retryTimer = timers.setTimeout(() => {
          if (run === generation) loadFrom(source.value ?? 'signed', true)
        }, step.delay)
        break
      }
      case 'proxy':
        usedProxyFallback = true
        load('proxy', proxyFallbackUrl(key, lastEtag, currentVariant()))
        break
      case 'fail':
        fail(reason)
    }
  }

  /**
   * Waits out a rate limit, then asks the same again: the same URL in a new `<img>` (`image`),
   * else the same resolve. An image's wait is the page's shared delivery wait, held `delay` ms
   * longer; each image goes a random part of the wait after it (`waitSpread`), not all at once.
   */
  function waitOut(image: boolean, delay: number) {
    waits++
    const run = generation
    const gate = image ? deliveryLimit.gate : null
    state.value = image ? 'loading' : 'resolving'
    const schedule = (ms: number) => {
      waitingUntil.value = clock() + ms
      retryTimer = timers.setTimeout(again, ms + waitSpread(ms, policy))
    }
    const again = () => {
      if (run !== generation) return
      const left = gate?.remaining() ?? 0
      if (left > 0) return schedule(left) // held longer meanwhile
      waitingUntil.value = null
      if (!image) return loadFrom(source.value ?? 'signed', lastRefresh)
      loadId.value++
      state.value = 'loading'
    }
    if (gate) gate.hold(delay)
    schedule(gate ? gate.remaining() : delay)
  }

  function onImageLoad(id?: number) {
    if (id !== undefined && id !== loadId.value) return
    if (state.value !== 'loading' && state.value !== 'loaded') return
    state.value = 'loaded'
    error.value = null
    if (src.value) onLoad?.(src.value)
    refreshTimer.schedule()
  }

  function onImageError(id?: number) {
    if (id !== undefined && id !== loadId.value) return
    if (state.value !== 'loading' && state.value !== 'loaded') return
    const url = src.value ?? ''
    if (!deliveryLimit.probes(url)) return handleFailure(new ImageLoadError(url))
    // Still `loading` while the probe is out.
    const run = generation
    const failedLoad = loadId.value
    const settle = (limit: ImageRateLimit | null) => {
      if (run === generation && failedLoad === loadId.value) {
        handleFailure(new ImageLoadError(url, limit))
      }
    }
    deliveryLimit.check(url).then(settle, () => settle(null))
  }

  /** A visible image's `refresh_at` has come: fetch the next URL past the cache. */
  function refreshUrl() {
    const run = generation
    resolver.resolve(toValue(imageKey), { bypassCache: true, variant: currentVariant() }).then(
      (resolved) => {
        if (run !== generation || state.value !== 'loaded') return
        entry.value = resolved
        const url = withApiBase(resolved.url)
        // Same URL (same signing window): nothing to swap. A new one loads in place: the old
        // picture stays until the new one is decoded, and its load/error events apply as usual.
        if (url !== src.value) src.value = url
        refreshTimer.schedule(minRefreshInterval)
      },
      (reason: unknown) => {
        if (run !== generation || state.value !== 'loaded') return
        // The current URL stays valid until `expires_at`: keep it and try again later.
        if (isPermanentResolveFailure(reason)) return
        refreshTimer.schedule(minRefreshInterval)
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
    () => [toValue(imageKey), currentMode(), variantTag(currentVariant())] as const,
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
    entry: shallowReadonly(entry),
    error: shallowReadonly(error),
    attempt: readonly(attempt),
    waitingUntil: readonly(waitingUntil),
    loadId: readonly(loadId),
    isLoading: computed(() => state.value === 'resolving' || state.value === 'loading'),
    isReady: computed(() => state.value === 'loaded'),
    retry,
    onImageLoad,
    onImageError,
  }
}
