/**
 * One IntersectionObserver per root margin, shared by every element that uses that margin.
 * A grid of hundreds of images then gets one callback per frame with all the entries that
 * changed, which also lets the resolver put all newly visible keys into one request.
 */
type Listener = (isIntersecting: boolean) => void

interface SharedObserver {
  observer: IntersectionObserver
  listeners: Map<Element, Listener>
}

const observers = new Map<string, SharedObserver>()

function sharedObserver(rootMargin: string): SharedObserver {
  let shared = observers.get(rootMargin)
  if (!shared) {
    const listeners = new Map<Element, Listener>()
    const observer = new IntersectionObserver(
      (entries) => {
        for (const entry of entries) listeners.get(entry.target)?.(entry.isIntersecting)
      },
      { rootMargin },
    )
    shared = { observer, listeners }
    observers.set(rootMargin, shared)
  }
  return shared
}

/**
 * Calls `listener` whenever `element` enters or leaves the viewport grown by `rootMargin`.
 * Without IntersectionObserver (very old browsers) the element counts as visible at once.
 * Returns the function that stops observing.
 */
export function observeIntersection(
  element: Element,
  rootMargin: string,
  listener: Listener,
): () => void {
  if (typeof IntersectionObserver === 'undefined') {
    listener(true)
    return () => {}
  }
  const shared = sharedObserver(rootMargin)
  shared.listeners.set(element, listener)
  shared.observer.observe(element)
  return () => {
    shared.observer.unobserve(element)
    shared.listeners.delete(element)
    if (!shared.listeners.size) {
      shared.observer.disconnect()
      observers.delete(rootMargin)
    }
  }
}
