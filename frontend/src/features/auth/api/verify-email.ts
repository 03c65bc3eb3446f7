import type { EmailVerified } from '@/features/auth/types/auth';
import { apiClient } from '@/lib/api-client';

/** POST /api/auth/verify-email: consume a verification token. */
export async function verifyEmail(token: string): Promise<EmailVerified> {
  const { data } = await apiClient.post<EmailVerified>(
    '/api/auth/verify-email',
    { token },
    { skipAuth: true, skipAuthRefresh: true },
  );
  return data;
}
