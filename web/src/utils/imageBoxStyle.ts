/**
 * The inline style that reserves a `<SmartImage>`'s box before any byte arrives, so nothing
 * shifts when the picture shows: an explicit ratio, else the original's size from the listing,
 * else a pixel width and height.
 */

export interface BoxStyleInput {
  /** Px number or CSS length. */
  width?: number | string
  height?: number | string
  aspectRatio?: number | string
  /** The original's size in px. */
  sourceWidth?: number | null
  sourceHeight?: number | null
}

function cssLength(value: number | string | undefined): string | undefined {
  if (value === undefined || value === '') return undefined
  return typeof value === 'number' ? `${value}px` : value
}

export function boxStyle(input: BoxStyleInput): Record<string, string> {
  const style: Record<string, string> = {}
  const width = cssLength(input.width)
  const height = cssLength(input.height)
  const fromSource =
    input.sourceWidth && input.sourceHeight ? `${input.sourceWidth} / ${input.sourceHeight}` : undefined
  const ratio = input.aspectRatio ?? fromSource
  if (ratio !== undefined) {
    style.aspectRatio = String(ratio)
    if (width) style.width = width
  } else if (typeof input.width === 'number' && typeof input.height === 'number') {
    style.aspectRatio = `${input.width} / ${input.height}`
    style.width = `${input.width}px`
  } else {
    if (width) style.width = width
    if (height) style.height = height
  }
  return style
}
