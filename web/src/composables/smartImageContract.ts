/**
 * What `useSmartImage` takes and gives: its options (retry ones on `RetryPolicy`) and the state
 * a `<SmartImage>` renders from. Kept apart so the state machine reads on its own.
 */
import type { ComputedRef, MaybeRefOrGetter, Ref } from 'vue'

import type { CachedUrl } from '@/utils/imageCache'
import type { SmartImageMode, SmartImageSource } from '@/utils/imageDelivery'
import type { DeliveryLimit } from '@/utils/imageProbe'
import type { RetryPolicy } from '@/utils/imageRetry'
import type { Resolver } from '@/utils/resolver'
import type { Clock, Timers } from '@/utils/timers'
import type { VariantSpec } from '@/utils/variants'

export type SmartImageState = 'idle' | 'resolving' | 'loading' | 'loaded' | 'error'

/** Options; the retry ones (`retries`, `retryDelay`, …) are documented on {@link RetryPolicy}. */
export interface UseSmartImageOptions extends Partial<RetryPolicy> {
  /**
   * Delivery mode.
   * @default 'auto'
   */
  mode?: MaybeRefOrGetter<SmartImageMode>
  /**
   * The variant to show (`variants.ts`): its signed URL, or `?w=&f=` on `/i/` and `/p/`. A new
   * one starts over (a grid cell that grew past its width).
   * @default the original
   */
  variant?: MaybeRefOrGetter<VariantSpec>
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
   * The delivery routes' shared rate-limit wait and the probe of a failed `<img>` URL.
   * @default the provided one, else the app-wide one
   */
  deliveryLimit?: DeliveryLimit
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
  /** The resolved entry behind a signed `src` (its `variant` may be a wider cached one). */
  entry: Readonly<Ref<CachedUrl | null>>
  /** Last failure: an `ApiError`, a `ResolveError` or an {@link ImageLoadError}. */
  error: Readonly<Ref<unknown>>
  /** Tries used since the last (re)start. */
  attempt: Readonly<Ref<number>>
  /** While a rate limit is waited out: when the next try goes (ms since the epoch); else null. */
  waitingUntil: Readonly<Ref<number | null>>
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

