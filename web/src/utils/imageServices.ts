import { hasInjectionContext, inject, type InjectionKey } from 'vue'

import { createImageCache } from './imageCache'
import { Resolver } from './resolver'

/** Provide a resolver to a subtree (tests, storybook-like pages); the app uses the default. */
export const imageResolverKey: InjectionKey<Resolver> = Symbol('imageResolver')

let defaultResolver: Resolver | null = null

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
