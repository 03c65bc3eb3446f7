import { apiClient } from '@/lib/api-client';
import type { Schemas } from '@/types/api';

export type Facility = Schemas['FacilityRead'];

/** GET /api/facilities/all: every facility, active or not (admins: `facility:manage`). */
export async function getAllFacilities(): Promise<Facility[]> {
  const { data } = await apiClient.get<Schemas['FacilityList']>('/api/facilities/all');
  return data.items;
}
