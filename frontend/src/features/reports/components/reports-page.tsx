import { useCallback, useEffect, useRef, useState } from 'react';
import { useSearchParams } from 'react-router-dom';

import { OfflinePage } from '@/components/layout/offline-page';
import { CachedDataBadge } from '@/components/ui/cached-data-badge';
import { assignReportToMe, getReports } from '@/features/reports/api/reports';
import { WorklistFilters } from '@/features/reports/components/worklist-filters';
import { WorklistItem } from '@/features/reports/components/worklist-item';
import type { Report, ReportPage } from '@/features/reports/types/reports';
import {
  isFiltered,
  parseWorklist,
  worklistCacheKey,
  worklistParams,
  worklistSearch,
  type WorklistQuery,
} from '@/features/reports/utils/worklist-query';
import { errorMessage } from '@/lib/api-client';
import { useAuth } from '@/lib/auth';
import { can } from '@/lib/authorization';
import { useOnline } from '@/lib/network';
import { useStreamEvents } from '@/lib/notifications/notifications-context';
import { useCachedQuery } from '@/lib/use-cached-query';
import type { Me } from '@/types/api';

import './worklist.css';

export function ReportsPage() {
  const { user } = useAuth();
  // The default sort depends on who is asking: wait for them (RequireAuth normally has).
  if (!user) return <p role="status">Loading reports…</p>;
  return <Worklist key={user.id} user={user} />;
}

function Worklist({ user }: { user: Me }) {
  const online = useOnline();
  const reader = can(user, 'report:read_all');
  const assignable = can(user, 'report:update');
  const [params, setParams] = useSearchParams();
  const query = parseWorklist(params, { reader });
  const apiParams = worklistParams(query);
  const key = worklistCacheKey(user.id, query);
  const fetcher = useCallback(() => getReports(apiParams), [key]); // eslint-disable-line react-hooks/exhaustive-deps
  const result = useCachedQuery<ReportPage>(key, fetcher, { online });
  const { reload } = result;
  const [live, setLive] = useState('');
  // Rows changed here (assigned to me), shown until a newer copy of the row arrives.
  const [changed, setChanged] = useState<Record<string, Report>>({});
  const [assigning, setAssigning] = useState<string | null>(null);
  const [justAssigned, setJustAssigned] = useState<string | null>(null);
  const [assignErrors, setAssignErrors] = useState<Record<string, string>>({});

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

  if (!result.data && !result.loading && !online) return <OfflinePage what="Your reports" />;
  const items = (result.data?.items ?? []).map((item) => {
    const local = changed[item.id];
    return local && local.updated_at >= item.updated_at ? local : item;
  });
  const pageSize = result.data?.page_size ?? 1;
  const pages = result.data ? Math.max(1, Math.ceil(result.data.total / pageSize)) : 1;
  const filtered = isFiltered(query);

  function update(changes: Partial<WorklistQuery>) {
    // A new filter or sort starts again at the first page; only paging keeps the rest.
    const next = { ...query, page: 1, ...changes };
    setParams(worklistSearch(next, { reader }));
  }

  function clear() {
    setParams(worklistSearch({ ...parseWorklist(new URLSearchParams(), { reader }), sort: query.sort }, { reader }));
  }

  async function assign(report: Report) {
    setAssigning(report.id);
    setAssignErrors(({ [report.id]: _, ...rest }) => rest);
    try {
      const updated = await assignReportToMe(report.id);
      setChanged((rows) => ({ ...rows, [report.id]: updated }));
      setJustAssigned(report.id);
      setLive(`Assigned to you: ${updated.modality} ${updated.service_level} report.`);
    } catch (caught) {
      setAssignErrors((errors) => ({ ...errors, [report.id]: errorMessage(caught) }));
    } finally {
      setAssigning(null);
    }
  }

  return (
    <section aria-labelledby="reports-title" className="page worklist">
      <div className="page-header">
        <h1 id="reports-title">{assignable ? 'Worklist' : 'Reports'}</h1>
        {result.fromCache && <CachedDataBadge updatedAt={result.updatedAt ?? undefined} />}
      </div>
      <WorklistFilters
        query={query}
        assignable={assignable}
        onChange={update}
        onClear={clear}
        filtered={filtered}
      />
      <div className="visually-hidden" role="status" aria-live="polite">
        {live}
      </div>
      {!online && assignable && result.data && (
        <p className="alert alert-info">You are offline: this is the last copy of this list; assigning needs a connection.</p>
      )}
      {result.error && (
        <p role="alert" className="alert alert-error">
          {result.error}{' '}
          <button type="button" className="link-button" onClick={reload}>
            Try again
          </button>
        </p>
      )}
      {result.loading && !result.data && <p role="status">Loading reports…</p>}
      {result.data && (
        <p className="worklist-count" aria-live="polite">
          {result.data.total === 1 ? '1 report' : `${result.data.total} reports`}
          {filtered ? (result.data.total === 1 ? ' matches' : ' match') : ''}
        </p>
      )}
      {result.data && items.length === 0 && <p>{filtered ? 'No reports match these filters.' : 'No reports yet.'}</p>}
      {items.length > 0 && (
        <ul className="report-list" aria-label="Reports">
          {items.map((item) => (
            <WorklistItem
              key={item.id}
              report={item}
              myId={user.id}
              assignable={assignable}
              online={online}
              busy={assigning === item.id}
              error={assignErrors[item.id] ?? null}
              justAssigned={justAssigned === item.id}
              onAssign={assign}
            />
          ))}
        </ul>
      )}
      {pages > 1 && (
        <nav aria-label="Report pages" className="button-row worklist-pages">
          <button
            type="button"
            className="button button-secondary"
            disabled={query.page <= 1}
            onClick={() => update({ ...query, page: query.page - 1 })}
          >
            Previous
          </button>
          <span>
            Page {query.page} of {pages}
          </span>
          <button
            type="button"
            className="button button-secondary"
            disabled={query.page >= pages}
            onClick={() => update({ ...query, page: query.page + 1 })}
          >
            Next
          </button>
        </nav>
      )}
    </section>
  );
}
