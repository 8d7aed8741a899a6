import { readonly, ref } from 'vue'

import type { AdminApi } from '@/api/admin'
import { useI18n } from '@/i18n'
import { describeError, isAuthError } from '@/utils/errors'

import { useAdminAuth } from './useAdminAuth'

/**
 * One admin call at a time with the console's handling of its outcome: a 401/403 ends the
 * session (the sign-in form says why), any other failure is an error message that stays a
 * while, a success may say so.
 */
export function useAdminCall() {
  const { t } = useI18n()
  const { api, signOut } = useAdminAuth()
  const busy = ref(false)

  /** Runs `call`; its result, or null when it failed (the user has been told). */
  async function run<T>(
    call: (api: AdminApi) => Promise<T>,
    success?: (result: T) => string,
  ): Promise<T | null> {
    busy.value = true
    try {
      const result = await call(api)
      if (success) ElMessage.success(success(result))
      return result
    } catch (error) {
      if (isAuthError(error)) signOut(error)
      else ElMessage.error({ message: describeError(error, t), showClose: true, duration: 6000 })
      return null
    } finally {
      busy.value = false
    }
  }

  return { busy: readonly(busy), run }
}
