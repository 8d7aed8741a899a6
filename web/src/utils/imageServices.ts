import { hasInjectionContext, inject, type InjectionKey } from 'vue'

import { createImageCache } from './imageCache'
import { probeRateLimit, type ProbeImage } from './imageProbe'
import { RateLimitGate } from './rateLimit'
import { Resolver } from './resolver'

/** Provide a resolver to a subtree (tests, storybook-like pages); the app uses the default. */
export const imageResolverKey: InjectionKey<Resolver> = Symbol('imageResolver')

/**
 * How images wait out the delivery routes' rate limit (`/i/`, `/p/`, `/objects/`): one shared
 * gate for the whole page, and the probe that tells a 429 from a broken URL (null: no probe,
 * every `<img>` error is a failure).
 */
export interface DeliveryLimit {
  gate: RateLimitGate
  probe: ProbeImage | null
}

export const deliveryLimitKey: InjectionKey<DeliveryLimit> = Symbol('deliveryLimit')

let defaultResolver: Resolver | null = null
let defaultDeliveryLimit: DeliveryLimit | null = null

/** The app-wide resolver over the IndexedDB cache, created on first use. */
export function getDefaultResolver(): Resolver {
  defaultResolver ??= new Resolver({ cache: createImageCache() })
  return defaultResolver
}

/** The provided resolver if there is one, else the app-wide one. */
export function useImageResolver(): Resolver {
  const provided = hasInjectionContext() ? inject(imageResolverKey, null) : null
  return provided ?? getDefaultResolver()
}

/** The page's delivery gate and probe, created on first use. */
export function getDefaultDeliveryLimit(): DeliveryLimit {
  defaultDeliveryLimit ??= { gate: new RateLimitGate(), probe: probeRateLimit }
  return defaultDeliveryLimit
}

/** The provided delivery limit if there is one, else the app-wide one. */
export function useDeliveryLimit(): DeliveryLimit {
  const provided = hasInjectionContext() ? inject(deliveryLimitKey, null) : null
  return provided ?? getDefaultDeliveryLimit()
}
