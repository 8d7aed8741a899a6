/**
 * A small typed i18n layer instead of vue-i18n: the app needs interpolation, simple plurals
 * and two languages; this gives compile-time checked keys (a typo or a missing Chinese string
 * fails `vue-tsc`), no runtime message compiler (no `eval`, strict-CSP friendly) and costs well
 * under 1 kB. Chinese messages and Element Plus's Chinese locale load only when chosen.
 */
import { computed, readonly, ref, shallowRef, type ComputedRef, type Ref } from 'vue'
import elementEn from 'element-plus/es/locale/lang/en'
import type { Language } from 'element-plus/es/locale'

import en, { type Messages } from './en'

export const LOCALES = ['en', 'zh-CN'] as const
export type Locale = (typeof LOCALES)[number]

export const LOCALE_NAMES: Record<Locale, string> = { en: 'English', 'zh-CN': '简体中文' }

const STORAGE_KEY = 'iuc.locale'

/** Dotted paths of every string in the message tree, e.g. `'admin.login.title'`. */
type PathsOf<T> = {
  [K in keyof T & string]: T[K] extends string ? K : `${K}.${PathsOf<T[K]>}`
}[keyof T & string]

export type MessageKey = PathsOf<Messages>
export type MessageParams = Record<string, string | number>

interface LoadedLocale {
  messages: Messages
  element: Language
}

const loaders: Record<Locale, () => Promise<LoadedLocale>> = {
  en: async () => ({ messages: en, element: elementEn }),
  'zh-CN': async () => {
    const [messages, element] = await Promise.all([
      import('./zh-CN'),
      import('element-plus/es/locale/lang/zh-cn'),
    ])
    return { messages: messages.default, element: element.default }
  },
}

const locale = ref<Locale>('en')
const messages = shallowRef<Messages>(en)
const elementLocale = shallowRef<Language>(elementEn)

export function isLocale(value: unknown): value is Locale {
  return typeof value === 'string' && (LOCALES as readonly string[]).includes(value)
}

/** The saved choice, else the browser's preference, else English. */
export function detectLocale(): Locale {
  try {
    const saved = localStorage.getItem(STORAGE_KEY)
    if (isLocale(saved)) return saved
  } catch {
    // Storage disabled.
  }
  const preferred = typeof navigator === 'undefined' ? [] : (navigator.languages ?? [])
  for (const tag of preferred) if (tag.toLowerCase().startsWith('zh')) return 'zh-CN'
  return 'en'
}

/** Switches the language (loading its messages first) and remembers the choice. */
export async function setLocale(next: Locale): Promise<void> {
  const loaded = await loaders[next]()
  messages.value = loaded.messages
  elementLocale.value = loaded.element
  locale.value = next
  if (typeof document !== 'undefined') document.documentElement.lang = next
  try {
    localStorage.setItem(STORAGE_KEY, next)
  } catch {
    // Storage disabled: the choice lasts for this page only.
  }
}

function lookup(tree: Messages, key: string): string | undefined {
  let node: unknown = tree
  for (const part of key.split('.')) {
    if (!node || typeof node !== 'object') return undefined
    node = (node as Record<string, unknown>)[part]
  }
  return typeof node === 'string' ? node : undefined
}

/**
 * Translates `key`. `{name}` placeholders take `params.name`. A message `'one | other'` picks
 * its form by `params.count` under the current language's plural rules.
 */
export function translate(key: MessageKey, params?: MessageParams): string {
  let message = lookup(messages.value, key) ?? lookup(en, key) ?? key
  if (message.includes(' | ') && params && typeof params.count === 'number') {
    const forms = message.split(' | ')
    const rule = new Intl.PluralRules(locale.value).select(params.count)
    message = (rule === 'one' ? forms[0] : forms[forms.length - 1]) ?? message
  }
  if (!params) return message
  return message.replace(/\{(\w+)\}/g, (whole, name: string) =>
    name in params ? String(params[name]) : whole,
  )
}

export interface UseI18nReturn {
  locale: Readonly<Ref<Locale>>
  t: typeof translate
  setLocale: typeof setLocale
  elementLocale: Readonly<Ref<Language>>
  formatNumber: (value: number, options?: Intl.NumberFormatOptions) => string
  /** 0..1 as a percentage; `null` (no data yet) as an em dash. */
  formatPercent: (value: number | null | undefined, digits?: number) => string
  /** Epoch seconds as a local date and time. */
  formatDateTime: (epochSeconds: number | null | undefined) => string
  /** Epoch seconds relative to `now` ("3 minutes ago"). */
  formatRelative: (epochSeconds: number | null | undefined, now?: number) => string
  formatBytes: (bytes: number | null | undefined) => string
  dateTimeLocale: ComputedRef<string>
}

const UNITS: [Intl.RelativeTimeFormatUnit, number][] = [
  ['day', 86_400],
  ['hour', 3_600],
  ['minute', 60],
  ['second', 1],
]

export function useI18n(): UseI18nReturn {
  const dateTimeLocale = computed(() => locale.value)
  return {
    locale: readonly(locale),
    t: translate,
    setLocale,
    elementLocale,
    dateTimeLocale,
    formatNumber: (value, options) => new Intl.NumberFormat(locale.value, options).format(value),
    formatPercent: (value, digits = 1) =>
      value === null || value === undefined || Number.isNaN(value)
        ? '—'
        : new Intl.NumberFormat(locale.value, {
            style: 'percent',
            maximumFractionDigits: digits,
            minimumFractionDigits: digits,
          }).format(value),
    formatDateTime: (epochSeconds) =>
      epochSeconds === null || epochSeconds === undefined
        ? '—'
        : new Intl.DateTimeFormat(locale.value, { dateStyle: 'short', timeStyle: 'medium' }).format(
            new Date(epochSeconds * 1000),
          ),
    formatRelative: (epochSeconds, now = Date.now()) => {
      if (epochSeconds === null || epochSeconds === undefined) return '—'
      const diff = epochSeconds - now / 1000
      const format = new Intl.RelativeTimeFormat(locale.value, { numeric: 'auto' })
      for (const [unit, seconds] of UNITS) {
        if (Math.abs(diff) >= seconds || unit === 'second') {
          return format.format(Math.round(diff / seconds), unit)
        }
      }
      return '—'
    },
    formatBytes: (bytes) => {
      if (bytes === null || bytes === undefined) return '—'
      const units = ['byte', 'kilobyte', 'megabyte', 'gigabyte'] as const
      let value = bytes
      let index = 0
      while (value >= 1024 && index < units.length - 1) {
        value /= 1024
        index++
      }
      return new Intl.NumberFormat(locale.value, {
        style: 'unit',
        unit: units[index],
        unitDisplay: 'short',
        maximumFractionDigits: index === 0 ? 0 : 1,
      }).format(value)
    },
  }
}
