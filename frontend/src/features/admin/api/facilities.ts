import type { Facility } from '@/features/admin/types/admin';
import { apiClient } from '@/lib/api-client';

export async function listAllFacilities(): Promise<Facility[]> {
  const { data } = await apiClient.get<{ items: Facility[] }>('/api/facilities/all');
  return data.items;
}

export async function createFacility(name: string): Promise<Facility> {
  const { data } = await apiClient.post<Facility>('/api/facilities', { name });
  return data;
}

export async function updateFacility(
  facilityId: string,
  changes: { name?: string; is_active?: boolean },
): Promise<Facility> {
  const { data } = await apiClient.patch<Facility>(`/api/facilities/${encodeURIComponent(facilityId)}`, changes);
  return data;
}
