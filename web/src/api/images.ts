import { encodeKeyPath } from '@/utils/keys'

import { request } from './client'
import type { BatchResolveResponse, ImagePage, ResolvedUrl } from './types'

/** The server's cap on keys per batch resolve; the resolver sends at most 100. */
export const MAX_RESOLVE_BATCH = 500

export interface ListImagesParams {
  prefix?: string
  cursor?: string | null
  /** 1..200, server default 50. */
  limit?: number
  signal?: AbortSignal
}

/** One page of the bucket listing (`GET /api/v1/images`). */
export function listImages({ prefix, cursor, limit, signal }: ListImagesParams = {}) {
  return request<ImagePage>('/api/v1/images', { query: { prefix, cursor, limit }, signal })
}

/** Signed URL for one key (`GET /api/v1/urls/<key>`); `refresh` forces re-validation. */
export function resolveUrl(key: string, refresh = false, signal?: AbortSignal) {
  return request<ResolvedUrl>(`/api/v1/urls/${encodeKeyPath(key)}`, {
    query: { refresh: refresh ? 1 : undefined },
    signal,
  })
}

/** Signed URLs for many keys in one round trip (`POST /api/v1/urls`); errors are per key. */
export function resolveUrls(keys: string[], refresh = false, signal?: AbortSignal) {
  return request<BatchResolveResponse>('/api/v1/urls', {
    method: 'POST',
    body: { keys, refresh },
    signal,
  })
}
