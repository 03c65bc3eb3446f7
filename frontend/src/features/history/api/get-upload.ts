import type { UploadDetail } from '@/features/history/types/history';
import { apiClient } from '@/lib/api-client';

/** GET /api/upload/{upload_id}: one upload with its files, forwarding jobs and PACS receipts. */
export async function getUpload(uploadId: string): Promise<UploadDetail> {
  const { data } = await apiClient.get<UploadDetail>(`/api/upload/${encodeURIComponent(uploadId)}`);
  return data;
}
