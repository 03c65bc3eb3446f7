import { useCallback, useState } from 'react';
import { Link, useSearchParams } from 'react-router-dom';

import { OfflinePage } from '@/components/layout/offline-page';
import { CachedDataBadge } from '@/components/ui/cached-data-badge';
import { FormAlert } from '@/components/ui/form-alert';
import { adminUserPath } from '@/config/paths';
import { listAllFacilities } from '@/features/admin/api/facilities';
import { listUsers, USERS_PAGE_SIZE } from '@/features/admin/api/users';
import { AdminNav } from '@/features/admin/components/admin-nav';
import { Pager } from '@/features/admin/components/pager';
import { UserCreateForm, type CreateMode } from '@/features/admin/components/user-create-form';
import { ROLE_LABELS, ROLES, type AdminUser, type Facility, type UserPage } from '@/features/admin/types/admin';
import { pageCount, userFiltersFrom, type UserFilters } from '@/features/admin/utils/filters';
import { useOnline } from '@/lib/network';
import { useCachedQuery } from '@/lib/use-cached-query';
import '@/features/admin/components/admin.css';

export function UsersPage() {
  const online = useOnline();
  const [params, setParams] = useSearchParams();
  const filters = userFiltersFrom(params);
  const page = Math.max(1, Number.parseInt(params.get('page') ?? '1', 10) || 1);
  const [search, setSearch] = useState(filters.q);
  const [creating, setCreating] = useState(false);
  const [notice, setNotice] = useState<string | null>(null);

  const key = JSON.stringify(filters);
  const fetchUsers = useCallback(() => listUsers(JSON.parse(key) as UserFilters, page), [key, page]);
  const users = useCachedQuery<UserPage>(`admin:users:${key}:${page}`, fetchUsers, { online });
  const facilities = useCachedQuery<Facility[]>('admin:facilities', listAllFacilities, { online });

  function update(next: Partial<UserFilters>, nextPage = 1) {
    const merged = { ...filters, ...next };
    const values = new URLSearchParams();
    if (merged.q.trim()) values.set('q', merged.q.trim());
    if (merged.role) values.set('role', merged.role);
    if (merged.facilityId) values.set('facility', merged.facilityId);
    if (merged.active) values.set('active', merged.active);
    if (merged.pending) values.set('pending', 'true');
    if (nextPage > 1) values.set('page', String(nextPage));
    setParams(values);
  }

  function onCreated(user: AdminUser, mode: CreateMode) {
    setCreating(false);
    setNotice(
      mode === 'invite'
        ? `Invitation sent to ${user.email}. ${user.username} can sign in once they have set a password.`
        : `${user.username} was created. Give them the temporary password; they can change it in their settings.`,
    );
    users.reload();
  }

  if (!users.data && !users.loading && !online) return <OfflinePage what="The user list" />;
  const items = users.data?.items ?? [];
  return (
    <section aria-labelledby="admin-users-title" className="page">
      <div className="page-header">
        <h1 id="admin-users-title">Users</h1>
        {users.fromCache && <CachedDataBadge updatedAt={users.updatedAt ?? undefined} />}
      </div>
      <AdminNav />
      <div className="button-row">
        <button
          type="button"
          className="button"
          aria-expanded={creating}
          aria-controls="create-user"
          onClick={() => setCreating((value) => !value)}
        >
          {creating ? 'Close the new user form' : 'New user'}
        </button>
      </div>
      {notice && <FormAlert kind="success">{notice}</FormAlert>}
      {creating && (
        <div id="create-user">
          <UserCreateForm facilities={facilities.data ?? []} online={online} onCreated={onCreated} />
        </div>
      )}
      <form
        role="search"
        aria-label="Find users"
        className="filters"
        onSubmit={(event) => {
          event.preventDefault();
          update({ q: search });
        }}
      >
        <div className="field">
          <label htmlFor="user-search">Search</label>
          <input
            id="user-search"
            type="search"
            value={search}
            maxLength={100}
            placeholder="Username, email or name"
            onChange={(event) => setSearch(event.target.value)}
          />
        </div>
        <div className="field">
          <label htmlFor="user-role-filter">Role</label>
          <select
            id="user-role-filter"
            value={filters.role}
            onChange={(event) => update({ role: event.target.value as UserFilters['role'], q: search })}
          >
            <option value="">All</option>
            {ROLES.map((role) => (
              <option key={role} value={role}>
                {ROLE_LABELS[role]}
              </option>
            ))}
          </select>
        </div>
        <div className="field">
          <label htmlFor="user-facility-filter">Facility</label>
          <select
            id="user-facility-filter"
            value={filters.facilityId}
            onChange={(event) => update({ facilityId: event.target.value, q: search })}
          >
            <option value="">All</option>
            {(facilities.data ?? []).map((facility) => (
              <option key={facility.id} value={facility.id}>
                {facility.name}
                {facility.is_active ? '' : ' (deactivated)'}
              </option>
            ))}
          </select>
        </div>
        <div className="field">
          <label htmlFor="user-active-filter">Status</label>
          <select
            id="user-active-filter"
            value={filters.active}
            onChange={(event) => update({ active: event.target.value as UserFilters['active'], q: search })}
          >
            <option value="">All</option>
            <option value="true">Active</option>
            <option value="false">Disabled</option>
          </select>
        </div>
        <label className="checkbox">
          <input
            type="checkbox"
            checked={filters.pending}
            onChange={(event) => update({ pending: event.target.checked, q: search })}
          />
          Pending approval only
        </label>
        <div className="field">
          <button type="submit" className="button button-secondary">
            Search
          </button>
        </div>
      </form>
      {users.error && (
        <p role="alert" className="alert alert-error">
          {users.error}{' '}
          <button type="button" className="link-button" onClick={users.reload}>
            Try again
          </button>
        </p>
      )}
      {users.loading && !users.data && <p role="status">Loading users…</p>}
      {users.data && items.length === 0 && <p>No users match these filters.</p>}
      {items.length > 0 && <UserTable users={items} />}
      {users.data && (
        <Pager
          label="User pages"
          page={page}
          pages={pageCount(users.data.total, USERS_PAGE_SIZE)}
          total={users.data.total}
          onPage={(next) => update({}, next)}
        />
      )}
    </section>
  );
}

function UserTable({ users }: { users: AdminUser[] }) {
  return (
    <div className="table-scroll" role="region" aria-label="Users (scrolls sideways)" tabIndex={0}>
      <table className="admin-table">
        <thead>
          <tr>
            <th scope="col">Username</th>
            <th scope="col">Name</th>
            <th scope="col">Email</th>
            <th scope="col">Role</th>
            <th scope="col">Facility</th>
            <th scope="col">Status</th>
          </tr>
        </thead>
        <tbody>
          {users.map((user) => (
            <tr key={user.id} data-user-id={user.id}>
              <td>
                <Link to={adminUserPath(user.id)}>{user.username}</Link>
              </td>
              <td>{user.full_name}</td>
              <td>{user.email}</td>
              <td>{ROLE_LABELS[user.role]}</td>
              <td>{user.facility ?? '—'}</td>
              <td>
                {user.is_active ? 'Active' : 'Disabled'}
                {user.membership && (
                  <span className="badge badge-warning">
                    {' '}
                    Requests {user.membership.facility ?? 'no facility'} as {ROLE_LABELS[user.membership.role]}
                  </span>
                )}
                {!user.email_verified && <span className="badge"> Email not verified</span>}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
