import { apiClient } from '@/lib/api-client';
import { saveBlob } from '@/lib/download';

/** GET /api/me/export saved as a JSON file; returns the file name. */
export async function downloadMyData(): Promise<string> {
  const response = await apiClient.get<Blob>('/api/me/export', { responseType: 'blob' });
  const day = new Date().toISOString().slice(0, 10);
  return saveBlob(response, `relaypacs-my-data-${day}.json`, 'application/json');
}
