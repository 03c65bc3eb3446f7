import { Navigate } from 'react-router-dom';

import { paths } from '@/config/paths';
import { useCan } from '@/lib/authorization';

/**
 * Where "/" leads once signed in: admins (who export the analytics) to the dashboard, users who
 * upload to the upload screen, everyone else (radiologists) to the reports.
 */
export function HomeRoute() {
  const admin = useCan('analytics:export');
  const uploads = useCan('upload:create');
  return <Navigate to={admin ? paths.dashboard : uploads ? paths.upload : paths.reports} replace />;
}
