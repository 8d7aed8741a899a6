#!/usr/bin/env node
// Prints the gzipped JavaScript (and CSS) each route downloads, from Vite's build manifest.
// Gallery = the entry and its static imports (everything needed for the first paint of `/`).
// Admin = what navigating to /admin adds on top (its lazy chunk and the imports not yet loaded).
// Admin, deferred = what the admin chunk loads once it runs (the charts), after the console shows.
// Usage: npm run build && npm run size
import { readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { gzipSync } from 'node:zlib'

const dist = join(dirname(fileURLToPath(import.meta.url)), '..', 'dist')
/** @type {Record<string, {file: string, imports?: string[], dynamicImports?: string[], css?: string[], isEntry?: boolean, src?: string}>} */
const manifest = JSON.parse(readFileSync(join(dist, '.vite', 'manifest.json'), 'utf8'))

/**
 * The chunk ids `id` needs before it runs: itself and its static imports, transitively.
 * @param {string} id
 * @param {Set<string>} [seen]
 * @returns {Set<string>}
 */
function closure(id, seen = new Set()) {
  if (seen.has(id)) return seen
  seen.add(id)
  for (const child of manifest[id]?.imports ?? []) closure(child, seen)
  return seen
}

/** @param {Iterable<string>} ids */
function files(ids) {
  const js = new Set()
  const css = new Set()
  for (const id of ids) {
    const chunk = manifest[id]
    if (!chunk) continue
    if (chunk.file.endsWith('.js')) js.add(chunk.file)
    for (const sheet of chunk.css ?? []) css.add(sheet)
  }
  return { js, css }
}

/** @param {string} file */
const gz = (file) => gzipSync(readFileSync(join(dist, file)), { level: 9 }).length
/** @param {number} bytes */
const kb = (bytes) => `${(bytes / 1024).toFixed(1)} kB`
/** @param {Set<string>} set */
const total = (set) => [...set].reduce((sum, file) => sum + gz(file), 0)

const entry = Object.keys(manifest).find((id) => manifest[id].isEntry)
const adminId = Object.keys(manifest).find((id) => id.endsWith('views/AdminView.vue'))
if (!entry || !adminId) throw new Error('manifest has no entry or no AdminView chunk')

const gallery = closure(entry)
const admin = new Set([...closure(adminId)].filter((id) => !gallery.has(id)))
const deferred = new Set()
for (const id of admin) {
  for (const lazy of manifest[id]?.dynamicImports ?? []) {
    for (const child of closure(lazy)) if (!gallery.has(child) && !admin.has(child)) deferred.add(child)
  }
}
const galleryFiles = files(gallery)
const adminFiles = files(admin)
const deferredFiles = files(deferred)
const galleryCss = [...galleryFiles.css]
const adminCss = [...adminFiles.css].filter((file) => !galleryFiles.css.has(file))
const deferredCss = [...deferredFiles.css].filter((file) => !galleryFiles.css.has(file) && !adminFiles.css.has(file))

const rows = [
  ['gallery route, initial load', total(galleryFiles.js), galleryFiles.js.size, galleryCss.reduce((s, f) => s + gz(f), 0)],
  ['admin route, added on navigation', total(adminFiles.js), adminFiles.js.size, adminCss.reduce((s, f) => s + gz(f), 0)],
  ['admin charts, loaded after that', total(deferredFiles.js), deferredFiles.js.size, deferredCss.reduce((s, f) => s + gz(f), 0)],
]
console.log('route                              JS gzip   chunks   CSS gzip')
for (const [name, js, count, css] of rows) {
  console.log(`${name.padEnd(34)} ${kb(js).padStart(8)} ${String(count).padStart(8)} ${kb(css).padStart(10)}`)
}
