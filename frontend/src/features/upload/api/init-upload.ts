import { apiClient } from '@/lib/api-client';
import type { UploadCreated, UploadInit } from '@/lib/upload/types';

/** POST /api/upload/init (needs the access token; the transfer itself then uses the upload token). */
export async function initUpload(body: UploadInit): Promise<UploadCreated> {
  const { data } = await apiClient.post<UploadCreated>('/api/upload/init', body);
  return data;
}
