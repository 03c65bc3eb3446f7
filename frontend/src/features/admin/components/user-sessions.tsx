import type { UserSession } from '@/features/admin/types/admin';
import type { CachedQuery } from '@/lib/use-cached-query';

/** A user's active sessions, as an admin sees them. */
export function UserSessions({ query }: { query: CachedQuery<UserSession[]> }) {
  const items = query.data ?? [];
  return (
    <section className="card admin-section" aria-labelledby="sessions-title">
      <div className="page-header">
        <h2 id="sessions-title">Active sessions</h2>
        <button type="button" className="button button-secondary" onClick={query.reload}>
          Refresh sessions
        </button>
      </div>
      {query.error && <p role="alert">{query.error}</p>}
      {query.loading && !query.data && <p role="status">Loading sessions…</p>}
      {query.data && items.length === 0 && <p data-testid="no-sessions">No active sessions.</p>}
      {items.length > 0 && (
        <div className="table-scroll" role="region" aria-label="Sessions (scrolls sideways)" tabIndex={0}>
          <table className="admin-table">
            <thead>
              <tr>
                <th scope="col">Device</th>
                <th scope="col">Browser</th>
                <th scope="col">IP address</th>
                <th scope="col">Signed in</th>
                <th scope="col">Last seen</th>
              </tr>
            </thead>
            <tbody>
              {items.map((item) => (
                <tr key={item.id}>
                  <td>{item.device ?? 'Unknown device'}</td>
                  <td>{item.browser ?? 'Unknown browser'}</td>
                  <td className="mono">{item.ip ?? '—'}</td>
                  <td>
                    <time dateTime={item.created_at}>{new Date(item.created_at).toLocaleString()}</time>
                  </td>
                  <td>
                    <time dateTime={item.last_seen_at}>{new Date(item.last_seen_at).toLocaleString()}</time>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
