import { vi } from 'vitest'

/**
 * happy-dom does no layout: every element measures 0 × 0. ECharts sizes its drawing from its
 * container (and warns when that is 0), so chart tests give every element this size.
 * Restored after the test (`restoreMocks`).
 */
export function stubLayoutSize(width = 640, height = 200) {
  for (const [name, value] of [
    ['clientWidth', width],
    ['clientHeight', height],
    ['offsetWidth', width],
    ['offsetHeight', height],
  ] as const) {
    let owner: object | null = HTMLElement.prototype
    while (owner && !Object.getOwnPropertyDescriptor(owner, name)) owner = Object.getPrototypeOf(owner)
    if (!owner) throw new Error(`no ${name} to stub`)
    vi.spyOn(owner as HTMLElement, name, 'get').mockReturnValue(value)
  }
}
