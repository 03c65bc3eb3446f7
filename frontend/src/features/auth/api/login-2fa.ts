import { apiClient } from '@/lib/api-client';
import type { TokenPair } from '@/types/api';

/** POST /api/auth/login/2fa: a TOTP code or a backup code for the challenge. */
export async function loginSecondFactor(input: { mfa_token: string; code: string }): Promise<TokenPair> {
  const { data } = await apiClient.post<TokenPair>('/api/auth/login/2fa', input, {
    skipAuth: true,
    skipAuthRefresh: true,
  });
  return data;
}
