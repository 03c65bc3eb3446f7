import { useCallback, useEffect, useRef, useState } from 'react';
import { Link, useSearchParams } from 'react-router-dom';

import { OfflinePage } from '@/components/layout/offline-page';
import { CachedDataBadge } from '@/components/ui/cached-data-badge';
import { reportPath } from '@/config/paths';
import { getReports, REPORTS_PAGE_SIZE } from '@/features/reports/api/reports';
import { ReportStatusBadge, STATUS_LABELS } from '@/features/reports/components/report-status-badge';
import { REPORT_STATUSES, type ReportPage, type ReportStatus } from '@/features/reports/types/reports';
import { useAuth } from '@/lib/auth';
import { useOnline } from '@/lib/network';
import { useStreamEvents } from '@/lib/notifications/notifications-context';
import { useCachedQuery } from '@/lib/use-cached-query';

export function ReportsPage() {
  const online = useOnline();
  const { user } = useAuth();
  const [params, setParams] = useSearchParams();
  const status = (REPORT_STATUSES as string[]).includes(params.get('status') ?? '')
    ? (params.get('status') as ReportStatus)
    : '';
  const page = Math.max(1, Number.parseInt(params.get('page') ?? '1', 10) || 1);
  const fetcher = useCallback(() => getReports({ page, status }), [page, status]);
  const query = useCachedQuery<ReportPage>(`reports:${user?.id ?? 'anonymous'}:${status}:${page}`, fetcher, {
    online,
  });
  const [live, setLive] = useState('');
  const { reload } = query;

  // A report changed (status, assignment): refresh the list in place, once per burst (a
  // radiologist's list hears about every report).
  const pending = useRef<ReturnType<typeof setTimeout> | null>(null);
  useStreamEvents(['report_updated'], () => {
    if (pending.current) return;
    pending.current = setTimeout(() => {
      pending.current = null;
      reload();
      setLive('Reports updated.');
    }, 300);
  });
  useEffect(
    () => () => {
      if (pending.current) clearTimeout(pending.current);
    },
    [],
  );
  useEffect(() => {
    if (!live) return;
    const timer = setTimeout(() => setLive(''), 3000);
    return () => clearTimeout(timer);
  }, [live]);

  if (!query.data && !query.loading && !online) return <OfflinePage what="Your reports" />;
  const items = query.data?.items ?? [];
  const pages = query.data ? Math.max(1, Math.ceil(query.data.total / REPORTS_PAGE_SIZE)) : 1;

  function update(next: { status?: string; page?: number }) {
    const values = new URLSearchParams();
    const nextStatus = next.status ?? status;
    if (nextStatus) values.set('status', nextStatus);
    const nextPage = next.page ?? 1;
    if (nextPage > 1) values.set('page', String(nextPage));
    setParams(values);
  }

  return (
    <section aria-labelledby="reports-title" className="page">
      <div className="page-header">
        <h1 id="reports-title">Reports</h1>
        {query.fromCache && <CachedDataBadge updatedAt={query.updatedAt ?? undefined} />}
      </div>
      <div className="filters">
        <div className="field">
          <label htmlFor="report-status-filter">Status</label>
          <select
            id="report-status-filter"
            value={status}
            onChange={(event) => update({ status: event.target.value, page: 1 })}
          >
            <option value="">All</option>
            {REPORT_STATUSES.map((value) => (
              <option key={value} value={value}>
                {STATUS_LABELS[value]}
              </option>
            ))}
          </select>
        </div>
      </div>
      <div className="visually-hidden" role="status" aria-live="polite">
        {live}
      </div>
      {query.error && (
        <p role="alert" className="alert alert-error">
          {query.error}{' '}
          <button type="button" className="link-button" onClick={reload}>
            Try again
          </button>
        </p>
      )}
      {query.loading && !query.data && <p role="status">Loading reports…</p>}
      {query.data && items.length === 0 && <p>No reports{status ? ' with this status' : ''} yet.</p>}
      {items.length > 0 && (
        <ul className="report-list" aria-label="Reports">
          {items.map((item) => (
            <li key={item.id} className="report-item" data-report-id={item.id} data-status={item.status}>
              <div>
                <p className="report-item-title">
                  <Link to={reportPath(item.id)}>
                    {item.patient_name} · {item.modality} · {item.study_date}
                  </Link>
                </p>
                <p className="history-item-meta">
                  {item.service_level} · {item.facility} · updated{' '}
                  <time dateTime={item.updated_at}>{new Date(item.updated_at).toLocaleString()}</time>
                </p>
              </div>
              <div className="button-row">
                {/* Sent to radiologists and admins only (the report page says more). */}
                {item.sync_warning && (
                  <span className="badge badge-warning" title={item.sync_warning.message}>
                    PACS report held back
                  </span>
                )}
                <ReportStatusBadge status={item.status} />
              </div>
            </li>
          ))}
        </ul>
      )}
      {pages > 1 && (
        <nav aria-label="Report pages" className="button-row">
          <button
            type="button"
            className="button button-secondary"
            disabled={page <= 1}
            onClick={() => update({ page: page - 1 })}
          >
            Previous
          </button>
          <span>
            Page {page} of {pages}
          </span>
          <button
            type="button"
            className="button button-secondary"
            disabled={page >= pages}
            onClick={() => update({ page: page + 1 })}
          >
            Next
          </button>
        </nav>
      )}
    </section>
  );
}
