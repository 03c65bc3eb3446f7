import type { Accepted, RegisterInput } from '@/features/auth/types/auth';
import { apiClient } from '@/lib/api-client';

/** POST /api/auth/register: creates an unverified account and mails the verification link. */
export async function register(input: RegisterInput): Promise<Accepted> {
  const { data } = await apiClient.post<Accepted>('/api/auth/register', input, {
    skipAuth: true,
    skipAuthRefresh: true,
  });
  return data;
}
