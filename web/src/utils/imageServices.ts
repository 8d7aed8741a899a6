import { hasInjectionContext, inject, type InjectionKey } from 'vue'

import { createImageCache } from './imageCache'
import { DeliveryLimit, probeRateLimit } from './imageProbe'
import { Resolver } from './resolver'

/** Provide a resolver to a subtree (tests, storybook-like pages); the app uses the default. */
export const imageResolverKey: InjectionKey<Resolver> = Symbol('imageResolver')

/** Provide the delivery routes' rate-limit handling to a subtree (tests: no probes). */
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
  defaultDeliveryLimit ??= new DeliveryLimit(probeRateLimit)
  return defaultDeliveryLimit
}

/** The provided delivery limit if there is one, else the app-wide one. */
export function useDeliveryLimit(): DeliveryLimit {
  const provided = hasInjectionContext() ? inject(deliveryLimitKey, null) : null
  return provided ?? getDefaultDeliveryLimit()
}
