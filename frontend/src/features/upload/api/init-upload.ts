import { apiClient } from '@/lib/api-client';
import type { FileDeclaration, StudyMetadata, UploadCreated } from '@/lib/upload/types';

export interface InitUploadBody extends StudyMetadata {
  files: FileDeclaration[];
  force_upload?: boolean;
  chunk_size?: number;
}

/** POST /api/upload/init (needs the access token; the transfer itself then uses the upload token). */
export async function initUpload(body: InitUploadBody): Promise<UploadCreated> {
  const { data } = await apiClient.post<UploadCreated>('/api/upload/init', body);
  return data;
}
