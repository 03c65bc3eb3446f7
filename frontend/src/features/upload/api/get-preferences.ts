import { apiClient } from '@/lib/api-client';
import type { ServiceLevel } from '@/lib/upload/types';

export interface UploadPreferences {
  default_service_level: ServiceLevel;
  chunk_size: number;
  duplicate_check: boolean;
}

/** GET /api/me/preferences */
export async function getPreferences(): Promise<UploadPreferences> {
  const { data } = await apiClient.get<UploadPreferences>('/api/me/preferences');
  return data;
}
