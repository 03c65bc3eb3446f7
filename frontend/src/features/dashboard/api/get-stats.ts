import type { StatsQuery, UploadStats } from '@/features/dashboard/types/stats';
import { apiClient } from '@/lib/api-client';

/** GET /api/upload/stats: the key figures and chart series of a period, in the caller's scope. */
export async function getUploadStats({ period, facility, tz }: StatsQuery): Promise<UploadStats> {
  const { data } = await apiClient.get<UploadStats>('/api/upload/stats', {
    params: { period, ...(facility ? { facility } : {}), ...(tz ? { tz } : {}) },
  });
  return data;
}
