/**
 * Test environment: IndexedDB from fake-indexeddb, and any Vue or console warning fails the
 * test that caused it ("no console errors or warnings at runtime" is a requirement).
 */
import 'fake-indexeddb/auto'
import { afterEach, beforeEach, vi } from 'vitest'

const problems: string[] = []

beforeEach(() => {
  problems.length = 0
  for (const level of ['warn', 'error'] as const) {
    vi.spyOn(console, level).mockImplementation((...args: unknown[]) => {
      problems.push(`console.${level}: ${args.map(String).join(' ')}`)
    })
  }
})

afterEach(() => {
  if (problems.length) {
    const message = problems.join('\n')
    problems.length = 0
    throw new Error(`Unexpected console output:\n${message}`)
  }
})
