/**
 * The design's alert thresholds, used to colour the stat cards. The server raises the actual
 * alerts (and may be configured differently); these only pick a card's colour.
 */
export const THRESHOLDS = {
  /** Hit rate below this is a warning. */
  minHitRate: 0.8,
  /** Queue depth above this is a warning. */
  maxQueueDepth: 100,
  /** Task failure rate above this is a warning. */
  maxFailureRate: 0.05,
  /** A worker not seen for this many seconds counts as gone. */
  workerStaleSeconds: 120,
} as const

export type Tone = 'ok' | 'warning' | 'danger' | 'neutral'
