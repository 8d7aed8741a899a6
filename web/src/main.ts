import { createApp } from 'vue'

import App from './App.vue'
import { detectLocale, setLocale } from './i18n'
import { createAppRouter } from './router'
import { getDefaultResolver } from './utils/imageServices'
import './styles/theme.css'
import './styles/main.css'

async function start() {
  // Start opening the URL cache (IndexedDB) now, alongside the first listing, not after it.
  getDefaultResolver()
  // Chinese messages load before the first paint, so the page never flashes English.
  await setLocale(detectLocale()).catch(() => setLocale('en'))
  const app = createApp(App)
  app.use(createAppRouter())
  app.mount('#app')
}

void start()
