import { useCallback, useState, type FormEvent } from 'react';
import { Link, useSearchParams } from 'react-router-dom';

import { OfflinePage } from '@/components/layout/offline-page';
import { CachedDataBadge } from '@/components/ui/cached-data-badge';
import { FormAlert } from '@/components/ui/form-alert';
import { adminUserPath } from '@/config/paths';
import { AUDIT_PAGE_SIZE, listAuditEvents } from '@/features/admin/api/audit';
import { AdminNav } from '@/features/admin/components/admin-nav';
import { Pager } from '@/features/admin/components/pager';
import { AUDIT_OUTCOMES, type AuditPage } from '@/features/admin/types/admin';
import { auditFiltersFrom, invalidRange, isUuid, pageCount, type AuditFilters } from '@/features/admin/utils/filters';
import { useOnline } from '@/lib/network';
import { useCachedQuery } from '@/lib/use-cached-query';
import '@/features/admin/components/admin.css';

export function AuditPage() {
  const online = useOnline();
  const [params, setParams] = useSearchParams();
  const applied = auditFiltersFrom(params);
  const page = Math.max(1, Number.parseInt(params.get('page') ?? '1', 10) || 1);
  const [draft, setDraft] = useState<AuditFilters>(applied);
  const [problem, setProblem] = useState<string | null>(null);
  const key = JSON.stringify(applied);
  const fetcher = useCallback(() => listAuditEvents(JSON.parse(key) as AuditFilters, page), [key, page]);
  const query = useCachedQuery<AuditPage>(`admin:audit:${key}:${page}`, fetcher, { online });

  function apply(filters: AuditFilters, nextPage = 1) {
    const values = new URLSearchParams();
    if (filters.actorId.trim()) values.set('actor', filters.actorId.trim());
    if (filters.action.trim()) values.set('action', filters.action.trim());
    if (filters.outcome) values.set('outcome', filters.outcome);
    if (filters.from) values.set('from', filters.from);
    if (filters.to) values.set('to', filters.to);
    if (nextPage > 1) values.set('page', String(nextPage));
    setParams(values);
  }

  function onSubmit(event: FormEvent) {
    event.preventDefault();
    if (draft.actorId.trim() && !isUuid(draft.actorId.trim())) {
      setProblem('The actor is a user id (open a user and follow “What this user did”).');
      return;
    }
    if (invalidRange(draft)) {
      setProblem('The date range ends before it starts.');
      return;
    }
    setProblem(null);
    apply(draft);
  }

  if (!query.data && !query.loading && !online) return <OfflinePage what="The audit log" />;
  const items = query.data?.items ?? [];
  return (
    <section aria-labelledby="admin-audit-title" className="page">
      <div className="page-header">
        <h1 id="admin-audit-title">Audit log</h1>
        {query.fromCache && <CachedDataBadge updatedAt={query.updatedAt ?? undefined} />}
      </div>
      <AdminNav />
      <form className="filters" aria-label="Filter the audit log" onSubmit={onSubmit}>
        <div className="field">
          <label htmlFor="audit-actor">Actor (user id)</label>
          <input
            id="audit-actor"
            value={draft.actorId}
            onChange={(event) => setDraft({ ...draft, actorId: event.target.value })}
            className="mono"
            spellCheck={false}
          />
        </div>
        <div className="field">
          <label htmlFor="audit-action">Action</label>
          <input
            id="audit-action"
            value={draft.action}
            maxLength={64}
            placeholder="e.g. user_disabled"
            onChange={(event) => setDraft({ ...draft, action: event.target.value })}
          />
        </div>
        <div className="field">
          <label htmlFor="audit-outcome">Outcome</label>
          <select
            id="audit-outcome"
            value={draft.outcome}
            onChange={(event) => setDraft({ ...draft, outcome: event.target.value as AuditFilters['outcome'] })}
          >
            <option value="">All</option>
            {AUDIT_OUTCOMES.map((outcome) => (
              <option key={outcome} value={outcome}>
                {outcome}
              </option>
            ))}
          </select>
        </div>
        <div className="field">
          <label htmlFor="audit-from">From</label>
          <input
            id="audit-from"
            type="date"
            value={draft.from}
            onChange={(event) => setDraft({ ...draft, from: event.target.value })}
          />
        </div>
        <div className="field">
          <label htmlFor="audit-to">To (included)</label>
          <input id="audit-to" type="date" value={draft.to} onChange={(event) => setDraft({ ...draft, to: event.target.value })} />
        </div>
        <div className="field button-row">
          <button type="submit" className="button">
            Apply filters
          </button>
          <button
            type="button"
            className="button button-secondary"
            onClick={() => {
              const cleared = { actorId: '', action: '', outcome: '', from: '', to: '' } as AuditFilters;
              setDraft(cleared);
              setProblem(null);
              apply(cleared);
            }}
          >
            Clear
          </button>
        </div>
      </form>
      {problem && <FormAlert>{problem}</FormAlert>}
      {query.error && <FormAlert>{query.error}</FormAlert>}
      {query.loading && !query.data && <p role="status">Loading the audit log…</p>}
      {query.data && items.length === 0 && <p>No events match these filters.</p>}
      {items.length > 0 && (
        <div className="table-scroll" role="region" aria-label="Audit events (scrolls sideways)" tabIndex={0}>
          <table className="admin-table">
            <thead>
              <tr>
                <th scope="col">When</th>
                <th scope="col">Action</th>
                <th scope="col">Outcome</th>
                <th scope="col">Actor</th>
                <th scope="col">Target</th>
                <th scope="col">IP address</th>
                <th scope="col">Request id</th>
              </tr>
            </thead>
            <tbody>
              {items.map((event) => (
                <tr key={event.id} data-action={event.action}>
                  <td>
                    <time dateTime={event.occurred_at}>{new Date(event.occurred_at).toLocaleString()}</time>
                  </td>
                  <td>{event.action}</td>
                  <td>{event.outcome}</td>
                  <td>
                    {event.actor_id ? (
                      <Link to={adminUserPath(event.actor_id)} className="mono">
                        {event.actor_id.slice(0, 8)}
                        <span className="visually-hidden"> (open this user)</span>
                      </Link>
                    ) : (
                      '—'
                    )}
                  </td>
                  <td>
                    {event.target_type ?? '—'}
                    {event.target_id && <span className="mono"> {event.target_id.slice(0, 8)}</span>}
                  </td>
                  <td className="mono">{event.ip ?? '—'}</td>
                  <td className="mono">{event.request_id ?? '—'}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {query.data && (
        <Pager
          label="Audit log pages"
          page={page}
          pages={pageCount(query.data.total, AUDIT_PAGE_SIZE)}
          total={query.data.total}
          onPage={(next) => apply(applied, next)}
        />
      )}
    </section>
  );
}
