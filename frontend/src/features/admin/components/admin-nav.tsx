import { NavLink } from 'react-router-dom';

import { paths } from '@/config/paths';

/** The admin console's sections. */
export function AdminNav() {
  return (
    <nav aria-label="Admin" className="admin-nav">
      <ul>
        <li>
          <NavLink to={paths.adminUsers}>Users</NavLink>
        </li>
        <li>
          <NavLink to={paths.adminFacilities}>Facilities</NavLink>
        </li>
        <li>
          <NavLink to={paths.adminAudit}>Audit log</NavLink>
        </li>
        <li>
          <NavLink to={paths.adminPacs}>PACS</NavLink>
        </li>
      </ul>
    </nav>
  );
}
