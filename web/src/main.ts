import { createApp } from 'vue'

import App from './App.vue'
import { detectLocale, setLocale } from './i18n'
import { createAppRouter } from './router'
import './styles/theme.css'
import './styles/main.css'

async function start() {
  // Chinese messages load before the first paint, so the page never flashes English.
  await setLocale(detectLocale()).catch(() => setLocale('en'))
  const app = createApp(App)
  app.use(createAppRouter())
  app.mount('#app')
}

void start()
