/**
 * The admin bearer token, kept in sessionStorage: it survives reloads and the gallery/admin
 * round trip, and is gone when the tab closes. Never in localStorage, never in a URL.
 */
import {
  computed,
  readonly,
  ref,
  shallowReadonly,
  shallowRef,
  type ComputedRef,
  type Ref,
} from 'vue'

import { createAdminApi, type AdminApi } from '@/api/admin'

const STORAGE_KEY = 'iuc.adminToken'

function loadToken(): string | null {
  try {
    return sessionStorage.getItem(STORAGE_KEY)
  } catch {
    return null
  }
}

const token = ref<string | null>(loadToken())
/** Why the last session ended (a 401/403 while signed in), for the sign-in form. */
const signOutReason = shallowRef<unknown>(null)
const api = createAdminApi(() => token.value)

function storeToken(value: string | null) {
  token.value = value
  try {
    if (value) sessionStorage.setItem(STORAGE_KEY, value)
    else sessionStorage.removeItem(STORAGE_KEY)
  } catch {
    // Storage disabled: signed in for this page only.
  }
}

export interface UseAdminAuthReturn {
  token: Readonly<Ref<string | null>>
  signedIn: ComputedRef<boolean>
  signOutReason: Readonly<Ref<unknown>>
  api: AdminApi
  /** Checks the token against the stats endpoint and keeps it if the server accepts it. */
  signIn: (candidate: string) => Promise<void>
  /** Forgets the token; `reason` is shown on the sign-in form. */
  signOut: (reason?: unknown) => void
}

export function useAdminAuth(): UseAdminAuthReturn {
  return {
    token: readonly(token),
    signedIn: computed(() => Boolean(token.value)),
    signOutReason: shallowReadonly(signOutReason),
    api,
    signIn: async (candidate) => {
      const value = candidate.trim()
      const probe = createAdminApi(() => value)
      await probe.stats()
      signOutReason.value = null
      storeToken(value)
    },
    signOut: (reason = null) => {
      signOutReason.value = reason
      storeToken(null)
    },
  }
}
