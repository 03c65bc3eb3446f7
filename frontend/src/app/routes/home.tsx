import { Navigate } from 'react-router-dom';

import { paths } from '@/config/paths';
import { useCan } from '@/lib/authorization';

/**
 * Where "/" leads once signed in: admins (who export the analytics) to the dashboard, everyone
 * else to the upload screen.
 */
export function HomeRoute() {
  const admin = useCan('analytics:export');
  return <Navigate to={admin ? paths.dashboard : paths.upload} replace />;
}
