import { Link, Outlet } from 'react-router-dom';

import { paths } from '@/config/paths';
import { useAuth } from '@/lib/auth';
import { useCan } from '@/lib/authorization';
import type { Permission } from '@/types/api';

/**
 * Renders its child routes only for a user whose `/api/auth/me` permissions include
 * `permission`; anyone else gets a plain "not allowed" page (the API refuses them anyway).
 */
export function RequirePermission({ permission }: { permission: Permission }) {
  const { status } = useAuth();
  const allowed = useCan(permission);
  if (allowed) return <Outlet />;
  if (status === 'loading') {
    return (
      <p role="status" className="page-status">
        Loading…
      </p>
    );
  }
  return (
    <section className="card narrow" aria-labelledby="not-allowed-title">
      <h1 id="not-allowed-title">Not allowed</h1>
      <p>Your account does not have access to this page. Ask an administrator if you need it.</p>
      <p>
        <Link to={paths.home}>Go to the start page</Link>
      </p>
    </section>
  );
}
