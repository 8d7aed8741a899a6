import { encodeKeyPath } from '@/utils/keys'
import { ORIGINAL, type VariantSpec } from '@/utils/variants'

import { request } from './client'
import type { BatchResolveResponse, ImagePage, ResolvedUrl } from './types'

/** The server's cap on keys per batch resolve; the resolver sends at most 100. */
export const MAX_RESOLVE_BATCH = 500

export interface ListImagesParams {
  prefix?: string
  cursor?: string | null
  /** 1..200, server default 50. */
  limit?: number
  /** With a width, each item also carries its signed URL of that variant. */
  variant?: VariantSpec
  signal?: AbortSignal
}

/** `width`/`format` of a body or a listing query; none for the original (the default). */
function variantFields(variant: VariantSpec): { width?: number; format?: string } {
  if (variant.width === null && variant.format === 'original') return {}
  return { width: variant.width ?? undefined, format: variant.format }
}

/** One page of the bucket listing (`GET /api/v1/images`). */
export function listImages({ prefix, cursor, limit, variant = ORIGINAL, signal }: ListImagesParams = {}) {
  return request<ImagePage>('/api/v1/images', {
    query: { prefix, cursor, limit, ...variantFields(variant) },
    signal,
  })
}

/** Signed URL for one key (`GET /api/v1/urls/<key>?w=&f=`); `refresh` forces re-validation. */
export function resolveUrl(
  key: string,
  refresh = false,
  signal?: AbortSignal,
  variant: VariantSpec = ORIGINAL,
) {
  const { width, format } = variantFields(variant)
  return request<ResolvedUrl>(`/api/v1/urls/${encodeKeyPath(key)}`, {
    query: { refresh: refresh ? 1 : undefined, w: width, f: format },
    signal,
  })
}

/**
 * Signed URLs for many keys in one round trip (`POST /api/v1/urls`), all of one variant;
 * errors are per key.
 */
export function resolveUrls(
  keys: string[],
  refresh = false,
  variant: VariantSpec = ORIGINAL,
  signal?: AbortSignal,
) {
  return request<BatchResolveResponse>('/api/v1/urls', {
    method: 'POST',
    body: { keys, refresh, ...variantFields(variant) },
    signal,
  })
}
