import { useCallback, useState } from 'react';
import { Link } from 'react-router-dom';

import { OfflinePage } from '@/components/layout/offline-page';
import { CachedDataBadge } from '@/components/ui/cached-data-badge';
import { FormAlert } from '@/components/ui/form-alert';
import { uploadPath } from '@/config/paths';
import { DEAD_LETTERS_PAGE_SIZE, listDeadLetters, listDestinations, retryJob } from '@/features/admin/api/pacs';
import { AdminNav } from '@/features/admin/components/admin-nav';
import { Pager } from '@/features/admin/components/pager';
import type { DeadLetterPage, Destination } from '@/features/admin/types/admin';
import { healthLabel } from '@/features/admin/utils/pacs';
import { pageCount } from '@/features/admin/utils/filters';
import { errorMessage } from '@/lib/api-client';
import { useOnline } from '@/lib/network';
import { useCachedQuery } from '@/lib/use-cached-query';
import '@/features/admin/components/admin.css';

const when = (value: string | null | undefined) =>
  value ? <time dateTime={value}>{new Date(value).toLocaleString()}</time> : 'never';

export function PacsPage() {
  const online = useOnline();
  const [page, setPage] = useState(1);
  const destinations = useCachedQuery<Destination[]>('admin:pacs:destinations', listDestinations, {
    online,
    pollMs: 30_000,
  });
  const fetchDead = useCallback(() => listDeadLetters(page), [page]);
  const dead = useCachedQuery<DeadLetterPage>(`admin:pacs:dead:${page}`, fetchDead, { online });
  const [message, setMessage] = useState<{ kind: 'success' | 'error'; text: string } | null>(null);
  const [busy, setBusy] = useState<string | null>(null);

  async function retry(jobId: string) {
    setBusy(jobId);
    setMessage(null);
    try {
      await retryJob(jobId);
      setMessage({ kind: 'success', text: 'The job is queued again with a fresh set of attempts.' });
      dead.reload();
      destinations.reload();
    } catch (caught) {
      setMessage({ kind: 'error', text: errorMessage(caught) });
    } finally {
      setBusy(null);
    }
  }

  if (!destinations.data && !destinations.loading && !online) return <OfflinePage what="PACS status" />;
  const deadItems = dead.data?.items ?? [];
  return (
    <section aria-labelledby="admin-pacs-title" className="page">
      <div className="page-header">
        <h1 id="admin-pacs-title">PACS</h1>
        {destinations.fromCache && <CachedDataBadge updatedAt={destinations.updatedAt ?? undefined} />}
      </div>
      <AdminNav />
      <h2>Destinations</h2>
      {destinations.error && <FormAlert>{destinations.error}</FormAlert>}
      {destinations.loading && !destinations.data && <p role="status">Checking the destinations…</p>}
      {destinations.data && (
        <div className="table-scroll" role="region" aria-label="Destinations (scrolls sideways)" tabIndex={0}>
          <table className="admin-table">
            <thead>
              <tr>
                <th scope="col">Destination</th>
                <th scope="col">Role</th>
                <th scope="col">Health</th>
                <th scope="col">Queue</th>
                <th scope="col">Last success</th>
                <th scope="col">Last failure</th>
                <th scope="col">Last error</th>
              </tr>
            </thead>
            <tbody>
              {destinations.data.map((destination) => {
                const health = healthLabel(destination);
                return (
                  <tr key={destination.name} data-destination={destination.name}>
                    <th scope="row">
                      {destination.name}
                      <div className="field-hint">
                        {destination.type} · <span className="mono">{destination.url ?? '—'}</span>
                      </div>
                    </th>
                    <td>{destination.role}</td>
                    <td className={health.className}>{health.text}</td>
                    <td>{destination.queue_depth}</td>
                    <td>{when(destination.last_success_at)}</td>
                    <td>{when(destination.last_failure_at)}</td>
                    <td>{destination.last_error ?? '—'}</td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      )}

      <h2 className="admin-section">Dead-lettered jobs</h2>
      <p className="field-hint">
        Forwarding gave up on these (a refusal that will not change by itself, or attempts ran out). Retry once the
        cause is fixed: the refused instances are sent again.
      </p>
      {!online && <FormAlert kind="info">You are offline: jobs can be retried once the connection is back.</FormAlert>}
      {message && <FormAlert kind={message.kind}>{message.text}</FormAlert>}
      {dead.error && <FormAlert>{dead.error}</FormAlert>}
      {dead.data && deadItems.length === 0 && <p>No dead-lettered jobs.</p>}
      {deadItems.length > 0 && (
        <div className="table-scroll" role="region" aria-label="Dead-lettered jobs (scrolls sideways)" tabIndex={0}>
          <table className="admin-table">
            <thead>
              <tr>
                <th scope="col">Upload</th>
                <th scope="col">Destination</th>
                <th scope="col">Reason</th>
                <th scope="col">Refused instances</th>
                <th scope="col">Attempts</th>
                <th scope="col">Gave up</th>
                <th scope="col">Action</th>
              </tr>
            </thead>
            <tbody>
              {deadItems.map((job) => (
                <tr key={job.id} data-job-id={job.id}>
                  <td>
                    <Link to={uploadPath(job.upload_id)} className="mono">
                      {job.upload_id.slice(0, 8)}
                      <span className="visually-hidden"> (open the upload)</span>
                    </Link>
                  </td>
                  <td>
                    {job.destination} ({job.role})
                  </td>
                  <td>{job.last_error ?? 'No reason recorded'}</td>
                  <td>{job.instances_failed}</td>
                  <td>{job.attempts}</td>
                  <td>{when(job.updated_at)}</td>
                  <td>
                    <button
                      type="button"
                      className="button button-secondary"
                      disabled={!online || busy !== null}
                      onClick={() => void retry(job.id)}
                    >
                      Retry<span className="visually-hidden"> the job for upload {job.upload_id.slice(0, 8)}</span>
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {dead.data && dead.data.total > DEAD_LETTERS_PAGE_SIZE && (
        <Pager
          label="Dead-letter pages"
          page={page}
          pages={pageCount(dead.data.total, DEAD_LETTERS_PAGE_SIZE)}
          total={dead.data.total}
          onPage={setPage}
        />
      )}
    </section>
  );
}
