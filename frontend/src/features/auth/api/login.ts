import type { LoginResult } from '@/features/auth/types/auth';
import { apiClient } from '@/lib/api-client';

/** POST /api/auth/login: a token pair, or an MFA challenge when the account has 2FA. */
export async function login(input: { login: string; password: string }): Promise<LoginResult> {
  const { data } = await apiClient.post<LoginResult>('/api/auth/login', input, {
    skipAuth: true,
    skipAuthRefresh: true,
  });
  return data;
}
