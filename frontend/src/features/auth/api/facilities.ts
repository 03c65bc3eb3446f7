import type { FacilityOption } from '@/features/auth/types/auth';
import { apiClient } from '@/lib/api-client';

/** GET /api/facilities: the facilities open to new members (names only, no sign-in). */
export async function listOpenFacilities(): Promise<FacilityOption[]> {
  const { data } = await apiClient.get<{ items: FacilityOption[] }>('/api/facilities', {
    skipAuth: true,
    skipAuthRefresh: true,
  });
  return data.items;
}
