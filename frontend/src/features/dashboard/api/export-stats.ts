import type { StatsPeriod } from '@/features/dashboard/types/stats';
import { apiClient } from '@/lib/api-client';
import { saveBlob } from '@/lib/download';

/**
 * GET /api/upload/stats/export (admins: `analytics:export`) through apiClient, so the access
 * token travels in the Authorization header and never in a URL; saved under the server's name.
 */
export async function downloadStatsCsv(period: StatsPeriod): Promise<string> {
  const response = await apiClient.get<Blob>('/api/upload/stats/export', {
    params: { period },
    responseType: 'blob',
    headers: { Accept: 'text/csv' },
  });
  return saveBlob(response, `relaypacs-stats-${period}.csv`, 'text/csv');
}
