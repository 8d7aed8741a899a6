/// <reference types="vite/client" />

interface ImportMetaEnv {
  /** Origin of the backend when the app is not served by it (default: same origin). */
  readonly VITE_API_BASE?: string
}

interface ImportMeta {
  readonly env: ImportMetaEnv
}
