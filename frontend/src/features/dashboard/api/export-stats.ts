import type { StatsQuery } from '@/features/dashboard/types/stats';
import { apiClient } from '@/lib/api-client';
import { saveBlob } from '@/lib/download';

/**
 * GET /api/upload/stats/export (admins: `analytics:export`) through apiClient, so the access
 * token travels in the Authorization header and never in a URL; saved under the server's name.
 * The same facility and time zone as the screen, so the file holds what the dashboard shows.
 */
export async function downloadStatsCsv({ period, facility, tz }: StatsQuery): Promise<string> {
  const response = await apiClient.get<Blob>('/api/upload/stats/export', {
    params: { period, ...(facility ? { facility } : {}), ...(tz ? { tz } : {}) },
    responseType: 'blob',
    headers: { Accept: 'text/csv' },
  });
  return saveBlob(response, `relaypacs-stats-${period}.csv`, 'text/csv');
}
