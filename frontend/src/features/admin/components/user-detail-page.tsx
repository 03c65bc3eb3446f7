import { useCallback, useEffect, useState } from 'react';
import { Link } from 'react-router-dom';

import { OfflinePage } from '@/components/layout/offline-page';
import { CachedDataBadge } from '@/components/ui/cached-data-badge';
import { FormAlert } from '@/components/ui/form-alert';
import { adminAuditPath, paths } from '@/config/paths';
import { listAllFacilities } from '@/features/admin/api/facilities';
import { decideMembership, getUser, getUserSessions, reissueInvitation, updateUser } from '@/features/admin/api/users';
import { AdminNav } from '@/features/admin/components/admin-nav';
import { UserSessions } from '@/features/admin/components/user-sessions';
import { ROLE_LABELS, ROLES, type AdminUser, type Facility, type Role } from '@/features/admin/types/admin';
import { errorMessage } from '@/lib/api-client';
import { useAuth } from '@/lib/auth';
import { useOnline } from '@/lib/network';
import { useCachedQuery } from '@/lib/use-cached-query';
import '@/features/admin/components/admin.css';

export function UserDetailPage({ userId }: { userId: string }) {
  const online = useOnline();
  const { user: me } = useAuth();
  const fetchUser = useCallback(() => getUser(userId), [userId]);
  const fetchSessions = useCallback(() => getUserSessions(userId), [userId]);
  const query = useCachedQuery<AdminUser>(`admin:user:${userId}`, fetchUser, { online });
  const sessions = useCachedQuery(`admin:user-sessions:${userId}`, fetchSessions, { online });
  const facilities = useCachedQuery<Facility[]>('admin:facilities', listAllFacilities, { online });
  const [user, setUser] = useState<AdminUser | null>(null);
  const [role, setRole] = useState<Role>('clinician');
  const [facilityId, setFacilityId] = useState('');
  const [confirmingDisable, setConfirmingDisable] = useState(false);
  const [message, setMessage] = useState<{ kind: 'success' | 'error'; text: string } | null>(null);
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    if (!query.data) return;
    setUser(query.data);
    setRole(query.data.role);
    setFacilityId(query.data.facility_id ?? '');
  }, [query.data]);

  if (!query.data && !query.loading && !online) return <OfflinePage what="This user" />;
  if (query.error && !user) {
    return (
      <section className="page" aria-labelledby="admin-user-title">
        <h1 id="admin-user-title">User</h1>
        <AdminNav />
        <FormAlert>{query.error}</FormAlert>
        <Link to={paths.adminUsers}>Back to the users</Link>
      </section>
    );
  }
  if (!user) return <p role="status">Loading the user…</p>;
  const self = me?.id === user.id;

  async function act(run: () => Promise<AdminUser>, done: string) {
    setBusy(true);
    setMessage(null);
    try {
      const updated = await run();
      setUser(updated);
      setRole(updated.role);
      setFacilityId(updated.facility_id ?? '');
      setMessage({ kind: 'success', text: done });
      sessions.reload();
    } catch (caught) {
      setMessage({ kind: 'error', text: errorMessage(caught) });
    } finally {
      setBusy(false);
      setConfirmingDisable(false);
    }
  }

  const accessChanged = role !== user.role || facilityId !== (user.facility_id ?? '');
  const knownFacilities = facilities.data ?? [];
  return (
    <section aria-labelledby="admin-user-title" className="page">
      <div className="page-header">
        <h1 id="admin-user-title">{user.full_name}</h1>
        {query.fromCache && <CachedDataBadge updatedAt={query.updatedAt ?? undefined} />}
      </div>
      <AdminNav />
      <p>
        <Link to={paths.adminUsers}>Back to the users</Link> ·{' '}
        <Link to={adminAuditPath({ actor: user.id })}>What this user did (audit log)</Link>
      </p>
      <dl className="facts">
        <dt>Username</dt>
        <dd>{user.username}</dd>
        <dt>Email</dt>
        <dd>
          {user.email}
          {user.email_verified ? '' : ' (not verified yet)'}
        </dd>
        <dt>Status</dt>
        <dd data-testid="user-status">{user.is_active ? 'Active' : 'Disabled'}</dd>
        <dt>Two-factor authentication</dt>
        <dd>{user.mfa_enabled ? 'On' : 'Off'}</dd>
        <dt>Created</dt>
        <dd>
          <time dateTime={user.created_at}>{new Date(user.created_at).toLocaleString()}</time>
        </dd>
      </dl>
      {!online && <FormAlert kind="info">You are offline: changes can be made once the connection is back.</FormAlert>}
      {message && <FormAlert kind={message.kind}>{message.text}</FormAlert>}

      {user.membership && (
        <section className="card admin-section" aria-labelledby="membership-title">
          <h2 id="membership-title">Pending facility membership</h2>
          <p>
            {user.username} asks for access to <strong>{user.membership.facility ?? 'no facility'}</strong> as a{' '}
            {ROLE_LABELS[user.membership.role].toLowerCase()} (since{' '}
            <time dateTime={user.membership.requested_at}>
              {new Date(user.membership.requested_at).toLocaleString()}
            </time>
            ).
          </p>
          <div className="button-row">
            <button
              type="button"
              className="button"
              disabled={busy || !online}
              onClick={() => void act(() => decideMembership(user.id, 'approve'), 'The membership was approved.')}
            >
              Approve membership
            </button>
            <button
              type="button"
              className="button button-secondary"
              disabled={busy || !online}
              onClick={() => void act(() => decideMembership(user.id, 'reject'), 'The membership was rejected.')}
            >
              Reject membership
            </button>
          </div>
        </section>
      )}

      <section className="card admin-section" aria-labelledby="access-title">
        <h2 id="access-title">Role and facility</h2>
        <form
          className="admin-form"
          onSubmit={(event) => {
            event.preventDefault();
            void act(
              () =>
                updateUser(user.id, {
                  ...(role !== user.role ? { role } : {}),
                  ...(facilityId !== (user.facility_id ?? '') ? { facility_id: facilityId || null } : {}),
                }),
              'Saved. The user signs in again to get the new access.',
            );
          }}
        >
          <div className="field">
            <label htmlFor="user-role">Role</label>
            <select
              id="user-role"
              value={role}
              disabled={self}
              onChange={(event) => setRole(event.target.value as Role)}
            >
              {ROLES.map((value) => (
                <option key={value} value={value}>
                  {ROLE_LABELS[value]}
                </option>
              ))}
            </select>
          </div>
          <div className="field">
            <label htmlFor="user-facility">Facility</label>
            <select id="user-facility" value={facilityId} onChange={(event) => setFacilityId(event.target.value)}>
              <option value="">None</option>
              {knownFacilities
                .filter((facility) => facility.is_active || facility.id === user.facility_id)
                .map((facility) => (
                  <option key={facility.id} value={facility.id}>
                    {facility.name}
                  </option>
                ))}
            </select>
          </div>
          <p className="field-hint form-actions">
            {self
              ? 'You cannot change your own role.'
              : 'A change ends the user’s sessions: they sign in again with the new access.'}
          </p>
          <div className="form-actions">
            <button type="submit" className="button" disabled={busy || !online || !accessChanged}>
              Save role and facility
            </button>
          </div>
        </form>
      </section>

      <section className="card admin-section" aria-labelledby="account-title">
        <h2 id="account-title">Account</h2>
        {user.is_active ? (
          confirmingDisable ? (
            <div role="group" aria-label="Confirm disabling">
              <p>Disable {user.username}? Every session of theirs ends at once and they cannot sign in.</p>
              <div className="button-row">
                <button
                  type="button"
                  className="button"
                  disabled={busy || !online}
                  onClick={() => void act(() => updateUser(user.id, { is_active: false }), 'The account was disabled.')}
                >
                  Yes, disable {user.username}
                </button>
                <button type="button" className="button button-secondary" onClick={() => setConfirmingDisable(false)}>
                  Cancel
                </button>
              </div>
            </div>
          ) : (
            <button
              type="button"
              className="button button-secondary"
              disabled={busy || !online || self}
              onClick={() => setConfirmingDisable(true)}
            >
              Disable account
            </button>
          )
        ) : (
          <button
            type="button"
            className="button"
            disabled={busy || !online}
            onClick={() => void act(() => updateUser(user.id, { is_active: true }), 'The account was enabled.')}
          >
            Enable account
          </button>
        )}
        {user.is_active && !user.email_verified && (
          <p>
            {/* Invited and not yet signed in (or never verified): a lost or expired link is renewed. */}
            <button
              type="button"
              className="button button-secondary"
              disabled={busy || !online}
              onClick={() =>
                void act(
                  () => reissueInvitation(user.id),
                  `A new invitation was mailed to ${user.email}; earlier links no longer work.`,
                )
              }
            >
              Send a new invitation
            </button>
          </p>
        )}
      </section>

      <UserSessions query={sessions} />
    </section>
  );
}
