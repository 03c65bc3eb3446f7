import type { RevokedCount } from '@/features/account/types/account';
import { apiClient } from '@/lib/api-client';

/** POST /api/auth/password: every session (this one too) ends; the user signs in again. */
export async function changePassword(currentPassword: string, newPassword: string): Promise<RevokedCount> {
  const { data } = await apiClient.post<RevokedCount>('/api/auth/password', {
    current_password: currentPassword,
    new_password: newPassword,
  });
  return data;
}
