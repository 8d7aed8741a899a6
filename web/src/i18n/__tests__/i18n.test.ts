import { afterEach, describe, expect, it } from 'vitest'

import { describeError } from '@/utils/errors'
import { ApiError } from '@/api/client'

import en from '../en'
import { setLocale, translate as t } from '../index'
import zhCN from '../zh-CN'

function leaves(tree: object, prefix = ''): string[] {
  return Object.entries(tree).flatMap(([key, value]) =>
    typeof value === 'string' ? [`${prefix}${key}`] : leaves(value as object, `${prefix}${key}.`),
  )
}

describe('i18n', () => {
  afterEach(() => setLocale('en'))

  it('has the same keys and placeholders in every language', () => {
    expect(leaves(zhCN).sort()).toEqual(leaves(en).sort())
    for (const key of leaves(en)) {
      const read = (tree: object) =>
        key.split('.').reduce<unknown>((node, part) => (node as Record<string, unknown>)[part], tree) as string
      const placeholders = (text: string) => [...new Set(text.match(/\{\w+\}/g) ?? [])].sort()
      expect(placeholders(read(zhCN)), key).toEqual(placeholders(read(en)))
    }
  })

  it('interpolates and picks plural forms', () => {
    expect(t('grid.countAll', { count: 1, n: 1 })).toBe('1 image')
    expect(t('grid.countAll', { count: 3, n: 3 })).toBe('3 images')
    expect(t('errors.server', { status: 503, message: 'down' })).toBe('Server error (503): down')
  })

  it('switches to Chinese, including Element Plus, and remembers it', async () => {
    await setLocale('zh-CN')
    expect(t('nav.gallery')).toBe('图库')
    expect(t('grid.countAll', { count: 3, n: 3 })).toBe('共 3 张图片')
    expect(document.documentElement.lang).toBe('zh-CN')
    expect(localStorage.getItem('iuc.locale')).toBe('zh-CN')
  })

  it('explains 401, 403, 429 and network errors in words', () => {
    expect(describeError(new ApiError('http', 'x', 401), t)).toMatch(/401/)
    expect(describeError(new ApiError('http', 'x', 403), t)).toMatch(/rejected \(403\)/)
    expect(describeError(new ApiError('http', 'x', 429, null, null, 12), t)).toBe(
      'Too many requests (429). Try again in 12 seconds.',
    )
    expect(describeError(new ApiError('network', 'Failed to fetch'), t)).toMatch(/Cannot reach the server/)
  })
})
