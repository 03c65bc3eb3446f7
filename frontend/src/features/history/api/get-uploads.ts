import type { UploadsPage } from '@/features/history/types/history';
import { apiClient } from '@/lib/api-client';

/** GET /api/uploads: the signed-in user's uploads, newest first. */
export async function getUploads({ page = 1, pageSize = 50 } = {}): Promise<UploadsPage> {
  const { data } = await apiClient.get<UploadsPage>('/api/uploads', {
    params: { page, page_size: pageSize },
  });
  return data;
}
