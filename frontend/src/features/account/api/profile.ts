import type { EditableProfileField, Profile } from '@/features/account/types/account';
import { apiClient } from '@/lib/api-client';

/** GET /api/me/profile */
export async function getProfile(): Promise<Profile> {
  const { data } = await apiClient.get<Profile>('/api/me/profile');
  return data;
}

/** PATCH /api/me/profile with one field (an email change waits for its verification link). */
export async function updateProfileField(field: EditableProfileField, value: string): Promise<Profile> {
  const { data } = await apiClient.patch<Profile>('/api/me/profile', { [field]: value });
  return data;
}
