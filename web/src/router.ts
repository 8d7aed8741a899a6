import { createRouter, createWebHistory, type RouteRecordRaw } from 'vue-router'

import type { MessageKey } from './i18n'
import GalleryView from './views/GalleryView.vue'

declare module 'vue-router' {
  interface RouteMeta {
    /** Message key of the page title. */
    title?: MessageKey
  }
}

export const routes: RouteRecordRaw[] = [
  { path: '/', name: 'gallery', component: GalleryView, meta: { title: 'nav.gallery' } },
  {
    path: '/admin',
    name: 'admin',
    // Its own chunk: gallery visitors never download the console, its charts or its tables.
    component: () => import('./views/AdminView.vue'),
    meta: { title: 'nav.admin' },
  },
  { path: '/:pathMatch(.*)*', name: 'not-found', component: () => import('./views/NotFoundView.vue') },
]

export function createAppRouter() {
  return createRouter({
    history: createWebHistory(import.meta.env.BASE_URL),
    routes,
    scrollBehavior: (_to, _from, saved) => saved ?? { top: 0 },
  })
}
