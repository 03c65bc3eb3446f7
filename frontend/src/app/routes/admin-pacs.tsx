import { PacsPage } from '@/features/admin/components/pacs-page';

export function AdminPacsRoute() {
  return <PacsPage />;
}
