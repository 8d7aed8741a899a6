import { defineConfig, mergeConfig } from 'vitest/config'

import viteConfig from './vite.config.ts'

export default mergeConfig(
  viteConfig,
  defineConfig({
    test: {
      environment: 'happy-dom',
      include: ['src/**/*.test.ts'],
      setupFiles: ['./tests/setup.ts'],
      restoreMocks: true,
      unstubGlobals: true,
      // Element Plus's ES build imports its CSS; let Vite process it instead of Node.
      server: { deps: { inline: ['element-plus'] } },
    },
  }),
)
