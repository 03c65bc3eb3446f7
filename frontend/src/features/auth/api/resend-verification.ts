import type { Accepted } from '@/features/auth/types/auth';
import { apiClient } from '@/lib/api-client';

/** POST /api/auth/verify-email/resend: mail a new link (answers the same for unknown addresses). */
export async function resendVerification(email: string): Promise<Accepted> {
  const { data } = await apiClient.post<Accepted>(
    '/api/auth/verify-email/resend',
    { email },
    { skipAuth: true, skipAuthRefresh: true },
  );
  return data;
}
