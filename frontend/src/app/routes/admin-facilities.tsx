import { FacilitiesPage } from '@/features/admin/components/facilities-page';

export function AdminFacilitiesRoute() {
  return <FacilitiesPage />;
}
