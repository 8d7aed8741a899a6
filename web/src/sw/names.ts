/**
 * Names the worker stores under, shared with the page (`utils/serviceWorker.ts`), which deletes
 * them when the worker is turned off. No imports: the app bundle takes this file alone.
 */

/** The worker's script, registered with scope `/`. */
export const SCRIPT_URL = '/sw.js'
/** Cache API cache of image bytes; a new layout gets a new name and the old one is deleted. */
export const CACHE_NAME = 'image-bytes-v1'
/** Every cache of the worker starts so. */
export const CACHE_PREFIX = 'image-bytes-'
/** IndexedDB database of URL identities and entry sizes. */
export const DB_NAME = 'image-bytes'
