import { vi } from 'vitest'

/**
 * A controllable IntersectionObserver: tests decide when an element enters the viewport.
 * `install()` replaces the global for the current test (restored by `unstubGlobals`).
 */
export class MockIntersectionObserver {
  static instances: MockIntersectionObserver[] = []
  readonly targets = new Set<Element>()
  readonly rootMargin: string

  constructor(
    private readonly callback: IntersectionObserverCallback,
    options: IntersectionObserverInit = {},
  ) {
    this.rootMargin = options.rootMargin ?? '0px'
    MockIntersectionObserver.instances.push(this)
  }

  observe(target: Element) {
    this.targets.add(target)
  }

  unobserve(target: Element) {
    this.targets.delete(target)
  }

  disconnect() {
    this.targets.clear()
  }

  takeRecords(): IntersectionObserverEntry[] {
    return []
  }

  /** Reports `targets` as entering (or leaving) the viewport, in one callback like browsers do. */
  trigger(targets: Element[], isIntersecting: boolean) {
    const entries = targets
      .filter((target) => this.targets.has(target))
      .map((target) => ({ target, isIntersecting, intersectionRatio: isIntersecting ? 1 : 0 }))
    if (entries.length) {
      this.callback(entries as unknown as IntersectionObserverEntry[], this as unknown as IntersectionObserver)
    }
  }

  static install() {
    MockIntersectionObserver.instances = []
    vi.stubGlobal('IntersectionObserver', MockIntersectionObserver)
  }

  /** `elements` enter (or leave) the viewport, reported by every observer watching them. */
  static intersect(elements: Element[], isIntersecting = true) {
    for (const observer of MockIntersectionObserver.instances) observer.trigger(elements, isIntersecting)
  }

  static observing(element: Element): MockIntersectionObserver | undefined {
    return MockIntersectionObserver.instances.find((observer) => observer.targets.has(element))
  }
}
