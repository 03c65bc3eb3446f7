import { apiClient } from '@/lib/api-client';
import type { Schemas } from '@/types/api';

export type UploadPreferences = Schemas['Preferences'];

/** GET /api/me/preferences */
export async function getPreferences(): Promise<UploadPreferences> {
  const { data } = await apiClient.get<UploadPreferences>('/api/me/preferences');
  return data;
}
