import type { ReauthInput } from '@/features/account/types/account';
import { apiClient } from '@/lib/api-client';

/** POST /api/auth/reauth: confirm the password (and a 2FA code) before an account change. */
export async function reauthenticate(input: ReauthInput): Promise<void> {
  await apiClient.post('/api/auth/reauth', input);
}
