/** Object keys in URL paths: each `/`-separated segment percent-encoded on its own. */
export function encodeKeyPath(key: string): string {
  return key.split('/').map(encodeURIComponent).join('/')
}

/** Prefix every backend path with VITE_API_BASE when the app is served from another origin. */
export function withApiBase(path: string): string {
  const base = (import.meta.env.VITE_API_BASE ?? '').replace(/\/+$/, '')
  if (!base || /^[a-z][a-z\d+.-]*:/i.test(path)) return path
  return `${base}${path.startsWith('/') ? '' : '/'}${path}`
}

/** Stable URL that 302s to a fresh signed URL (`/i/<key>`). */
export function redirectUrl(key: string): string {
  return withApiBase(`/i/${encodeKeyPath(key)}`)
}

/**
 * URL whose bytes the backend streams itself (`/p/<key>`), the fallback of last resort. With the
 * object's `version` (its etag) it becomes `/p/<key>?v=<etag>`: one URL per object version, so a
 * browser never answers it with a cached copy of an older (e.g. broken) version.
 */
export function proxyUrl(key: string, version?: string | null): string {
  const path = `/p/${encodeKeyPath(key)}`
  return withApiBase(version ? `${path}?v=${encodeURIComponent(version)}` : path)
}

/** The last path segment of a key, for captions. */
export function baseName(key: string): string {
  const parts = key.split('/')
  return parts[parts.length - 1] || key
}

/** Why the backend would refuse a key, checked before sending (the backend checks again). */
export type KeyProblem = 'empty' | 'too_long' | 'leading_slash' | 'dot_segment' | 'control_char'

const MAX_KEY_BYTES = 850

function decodeOnce(value: string): string {
  try {
    return decodeURIComponent(value)
  } catch {
    return value
  }
}

export function validateKey(key: string): KeyProblem | null {
  if (!key) return 'empty'
  if (new TextEncoder().encode(key).length > MAX_KEY_BYTES) return 'too_long'
  if (key.startsWith('/')) return 'leading_slash'
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(key)) return 'control_char'
  const once = decodeOnce(key)
  for (const form of [key, once, decodeOnce(once)]) {
    if (form.split('/').some((segment) => segment === '.' || segment === '..')) return 'dot_segment'
  }
  return null
}

/** One key per line; blank lines and surrounding spaces dropped, duplicates kept once. */
export function parseKeyList(text: string): string[] {
  const keys = text
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter(Boolean)
  return [...new Set(keys)]
}
