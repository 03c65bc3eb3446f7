import { useCallback } from 'react';

import { getAllFacilities, type Facility } from '@/features/dashboard/api/get-facilities';
import { useOnline } from '@/lib/network';
import { useCachedQuery } from '@/lib/use-cached-query';

/** The facility filter of admins: every facility (inactive ones marked), or all of them. */
export function FacilityFilter({ value, onChange }: { value: string; onChange: (facility: string) => void }) {
  const online = useOnline();
  const fetcher = useCallback(() => getAllFacilities(), []);
  const { data } = useCachedQuery<Facility[]>('facilities:all', fetcher, { online });
  const facilities = data ?? [];
  const known = !value || facilities.some((facility) => facility.id === value);
  return (
    <div className="field">
      <label htmlFor="dashboard-facility">Facility</label>
      <select id="dashboard-facility" value={value} onChange={(event) => onChange(event.target.value)}>
        <option value="">All facilities</option>
        {facilities.map((facility) => (
          <option key={facility.id} value={facility.id}>
            {facility.name}
            {facility.is_active ? '' : ' (inactive)'}
          </option>
        ))}
        {!known && <option value={value}>Selected facility</option>}
      </select>
    </div>
  );
}
