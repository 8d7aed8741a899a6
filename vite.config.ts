import { fileURLToPath, URL } from 'node:url'

import vue from '@vitejs/plugin-vue'
import AutoImport from 'unplugin-auto-import/vite'
import { ElementPlusResolver } from 'unplugin-vue-components/resolvers'
import Components from 'unplugin-vue-components/vite'
import { defineConfig } from 'vite'

/** Backend that `npm run dev` proxies to (the Flask app on :8080 by default). */
const backend = process.env.VITE_BACKEND ?? 'http://127.0.0.1:8080'

/** Every path the Flask app owns; the SPA owns the rest. */
const backendPaths = [
  '/api',
  '/i',
  '/p',
  '/objects',
  '/docs',
  '/openapi.json',
  '/healthz',
  '/readyz',
  '/metrics',
]

export default defineConfig({
  root: fileURLToPath(new URL('./web', import.meta.url)),
  base: '/',
  publicDir: 'public',
  resolve: {
    alias: { '@': fileURLToPath(new URL('./web/src', import.meta.url)) },
  },
  plugins: [
    vue(),
    // Element Plus on demand: only the components a chunk uses end up in it, styles included.
    // Vue APIs are imported explicitly; only ElMessage / ElMessageBox are auto-imported.
    AutoImport({
      resolvers: [ElementPlusResolver()],
      dts: fileURLToPath(new URL('./web/src/types/auto-imports.d.ts', import.meta.url)),
    }),
    Components({
      resolvers: [ElementPlusResolver()],
      dirs: [],
      dts: fileURLToPath(new URL('./web/src/types/components.d.ts', import.meta.url)),
    }),
  ],
  server: {
    port: 5173,
    strictPort: false,
    proxy: Object.fromEntries(
      backendPaths.map((path) => [
        // `/i` must not swallow `/index.html` or `/img.png`: match the segment only.
        `^${path.replace('.', '\\.')}(/|$|\\?)`,
        { target: backend, changeOrigin: false, xfwd: true },
      ]),
    ),
  },
  preview: { port: 4173 },
  build: {
    outDir: 'dist',
    assetsDir: 'assets',
    emptyOutDir: true,
    target: 'es2022',
    // web/scripts/bundle-size.mjs reads it to report the gzipped size of each route.
    manifest: true,
    sourcemap: false,
    chunkSizeWarningLimit: 600,
  },
})
