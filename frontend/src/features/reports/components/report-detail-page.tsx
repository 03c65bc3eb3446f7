import { useCallback, useState, type FormEvent } from 'react';
import { Link, useParams } from 'react-router-dom';

import { OfflinePage } from '@/components/layout/offline-page';
import { CachedDataBadge } from '@/components/ui/cached-data-badge';
import { paths, uploadPath } from '@/config/paths';
import {
  addReportNote,
  assignReportToMe,
  changeReportStatus,
  downloadReportPdf,
  getReport,
  updateReportText,
} from '@/features/reports/api/reports';
import { ReportStatusBadge, STATUS_LABELS } from '@/features/reports/components/report-status-badge';
import type { ReportDetail, ReportStatus, ReportUpdatedEvent, SyncWarning } from '@/features/reports/types/reports';
import { errorMessage } from '@/lib/api-client';
import { useAuth } from '@/lib/auth';
import { useCan } from '@/lib/authorization';
import { useOnline } from '@/lib/network';
import { RESYNC, useStreamEvents } from '@/lib/notifications/notifications-context';
import { useCachedQuery } from '@/lib/use-cached-query';

function when(value: string | null): string {
  return value ? new Date(value).toLocaleString() : '—';
}

export function ReportDetailPage() {
  const { reportId = '' } = useParams();
  const online = useOnline();
  const mayReport = useCan('report:update');
  const fetcher = useCallback(() => getReport(reportId), [reportId]);
  const query = useCachedQuery<ReportDetail>(`report:${reportId}`, fetcher, { online });
  const { reload } = query;
  const [live, setLive] = useState('');

  useStreamEvents(['report_updated'], (event) => {
    if (event.type === RESYNC) {
      reload();
      return;
    }
    const data = event.data as ReportUpdatedEvent;
    if (data.report_id === reportId) {
      reload();
      setLive(`Report status: ${STATUS_LABELS[data.status as ReportStatus] ?? data.status}`);
    }
  });

  const report = query.data;
  if (!report && !query.loading && !online) return <OfflinePage what="This report" />;

  return (
    <section aria-labelledby="report-title" className="page">
      <p>
        <Link to={paths.reports}>← All reports</Link>
      </p>
      <div className="visually-hidden" role="status" aria-live="polite">
        {live}
      </div>
      {query.loading && !report && <p role="status">Loading the report…</p>}
      {query.error && !report && (
        <p role="alert" className="alert alert-error">
          {query.error}
        </p>
      )}
      {report && (
        <>
          <div className="page-header">
            <h1 id="report-title">
              Report: {report.patient_name} · {report.modality} · {report.study_date}
            </h1>
            {query.fromCache && <CachedDataBadge updatedAt={query.updatedAt ?? undefined} />}
          </div>
          <p>
            Status: <ReportStatusBadge status={report.status} />
          </p>
          {mayReport && report.sync_warning && <SyncWarningNotice warning={report.sync_warning} />}
          <dl className="facts">
            <dt>Service level</dt>
            <dd>{report.service_level}</dd>
            <dt>Facility</dt>
            <dd>{report.facility}</dd>
            <dt>Study UID</dt>
            <dd className="mono">{report.study_instance_uid}</dd>
            <dt>Sent to</dt>
            <dd>{report.destination ?? '—'}</dd>
            <dt>Opened</dt>
            <dd>{when(report.created_at)}</dd>
            {report.ready_at && (
              <>
                <dt>Ready</dt>
                <dd>{when(report.ready_at)}</dd>
              </>
            )}
            <dt>Upload</dt>
            <dd>
              <Link to={uploadPath(report.upload_id)}>Upload details</Link>
            </dd>
          </dl>
          {report.status === 'READY' && <DownloadButton reportId={report.id} />}
          {report.status === 'ADDITIONAL_DATA_REQUIRED' && report.additional_data_message && (
            <div className="alert alert-info report-section">
              <h2>The radiologist needs more information</h2>
              <p className="report-text">{report.additional_data_message}</p>
            </div>
          )}
          <div className="report-section">
            <h2>Findings</h2>
            <p className="report-text" data-testid="findings">
              {report.findings || report.pacs_report_text || 'Not written yet.'}
            </p>
            <h2>Impression</h2>
            <p className="report-text" data-testid="impression">
              {report.impression || 'Not written yet.'}
            </p>
          </div>
          <Notes report={report} />
          {report.status === 'ADDITIONAL_DATA_REQUIRED' && <ReplyForm reportId={report.id} onSent={reload} />}
          {mayReport && <ReaderActions report={report} onChanged={reload} />}
        </>
      )}
    </section>
  );
}

/** The backend sends it to radiologists and admins only; shown to them above the report. */
function SyncWarningNotice({ warning }: { warning: SyncWarning }) {
  return (
    <div className="alert alert-warning report-section" role="note" aria-labelledby="sync-warning-title">
      <h2 id="sync-warning-title">PACS report held back</h2>
      <p>{warning.message}</p>
      <p className="history-item-meta">
        SOP Instance UID <span className="mono">{warning.sop_instance_uid}</span> · found{' '}
        <time dateTime={warning.detected_at}>{when(warning.detected_at)}</time>
      </p>
    </div>
  );
}

function DownloadButton({ reportId }: { reportId: string }) {
  const [busy, setBusy] = useState(false);
  const [message, setMessage] = useState<string | null>(null);
  async function download() {
    setBusy(true);
    setMessage(null);
    try {
      const filename = await downloadReportPdf(reportId);
      setMessage(`Downloaded ${filename}.`);
    } catch (caught) {
      setMessage(errorMessage(caught, 'The PDF could not be downloaded. Please try again.'));
    } finally {
      setBusy(false);
    }
  }
  return (
    <div className="report-section">
      <button type="button" className="button" disabled={busy} onClick={() => void download()}>
        {busy ? 'Downloading…' : 'Download PDF'}
      </button>
      {message && (
        <p role="status" className="field-hint">
          {message}
        </p>
      )}
    </div>
  );
}

function Notes({ report }: { report: ReportDetail }) {
  if (report.notes.length === 0) return null;
  return (
    <div className="report-section">
      <h2>Notes</h2>
      <ul className="report-list" aria-label="Notes">
        {report.notes.map((note) => (
          <li key={note.id} className="report-item">
            <p className="report-text">{note.body}</p>
            <p className="history-item-meta">
              <time dateTime={note.created_at}>{when(note.created_at)}</time>
            </p>
          </li>
        ))}
      </ul>
    </div>
  );
}

function ReplyForm({ reportId, onSent }: { reportId: string; onSent: () => void }) {
  const [body, setBody] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  async function submit(event: FormEvent) {
    event.preventDefault();
    if (!body.trim()) {
      setError('Write a reply first.');
      return;
    }
    setBusy(true);
    setError(null);
    try {
      await addReportNote(reportId, body.trim());
      setBody('');
      onSent();
    } catch (caught) {
      setError(errorMessage(caught));
    } finally {
      setBusy(false);
    }
  }
  return (
    <form className="report-section" onSubmit={(event) => void submit(event)} noValidate>
      <h2>Reply to the radiologist</h2>
      <div className="field">
        <label htmlFor="report-reply">Your reply</label>
        <textarea
          id="report-reply"
          rows={4}
          value={body}
          maxLength={5000}
          aria-invalid={error ? true : undefined}
          aria-describedby={error ? 'report-reply-error' : undefined}
          onChange={(event) => setBody(event.target.value)}
        />
        {error && (
          <p id="report-reply-error" className="field-error">
            {error}
          </p>
        )}
      </div>
      <button type="submit" className="button" disabled={busy}>
        Send reply
      </button>
    </form>
  );
}

const NEXT: Record<ReportStatus, ReportStatus[]> = {
  ASSIGNED: ['PENDING', 'ADDITIONAL_DATA_REQUIRED', 'READY'],
  PENDING: ['ASSIGNED', 'ADDITIONAL_DATA_REQUIRED', 'READY'],
  ADDITIONAL_DATA_REQUIRED: ['PENDING', 'ASSIGNED', 'READY'],
  READY: [],
};

/** Whoever may update reports (`report:update`): assign to me, findings/impression, status change. */
function ReaderActions({ report, onChanged }: { report: ReportDetail; onChanged: () => void }) {
  const { user } = useAuth();
  const [findings, setFindings] = useState(report.findings ?? '');
  const [impression, setImpression] = useState(report.impression ?? '');
  const [target, setTarget] = useState<ReportStatus | ''>('');
  const [message, setMessage] = useState('');
  const [busy, setBusy] = useState(false);
  const [result, setResult] = useState<{ ok: boolean; text: string } | null>(null);

  // Only what was edited (an untouched empty field is not sent as "").
  const changes: { findings?: string; impression?: string } = {};
  if (findings !== (report.findings ?? '')) changes.findings = findings;
  if (impression !== (report.impression ?? '')) changes.impression = impression;
  const edited = Object.keys(changes).length > 0;

  async function run(action: () => Promise<unknown>, done: string) {
    setBusy(true);
    setResult(null);
    try {
      await action();
      setResult({ ok: true, text: done });
      onChanged();
    } catch (caught) {
      setResult({ ok: false, text: errorMessage(caught) });
    } finally {
      setBusy(false);
    }
  }

  if (report.status === 'READY') return null;
  return (
    <div className="report-section card">
      <h2>Reporting</h2>
      {report.assignee_id !== user?.id && (
        <button
          type="button"
          className="button button-secondary"
          disabled={busy}
          onClick={() => void run(() => assignReportToMe(report.id), 'Assigned to you.')}
        >
          Assign to me
        </button>
      )}
      <form
        onSubmit={(event) => {
          event.preventDefault();
          if (!edited) return;
          void run(() => updateReportText(report.id, changes), 'Report text saved.');
        }}
      >
        <div className="field">
          <label htmlFor="report-findings">Findings</label>
          <textarea id="report-findings" rows={5} value={findings} onChange={(e) => setFindings(e.target.value)} />
        </div>
        <div className="field">
          <label htmlFor="report-impression">Impression</label>
          <textarea id="report-impression" rows={3} value={impression} onChange={(e) => setImpression(e.target.value)} />
        </div>
        <button type="submit" className="button button-secondary" disabled={busy || !edited}>
          Save text
        </button>
      </form>
      <form
        onSubmit={(event) => {
          event.preventDefault();
          if (!target) return;
          void run(async () => {
            if (target === 'READY' && edited) await updateReportText(report.id, changes);
            await changeReportStatus(report.id, target, target === 'ADDITIONAL_DATA_REQUIRED' ? message : undefined);
          }, `Status changed to ${STATUS_LABELS[target]}.`);
        }}
      >
        <div className="field">
          <label htmlFor="report-status">New status</label>
          <select id="report-status" value={target} onChange={(e) => setTarget(e.target.value as ReportStatus | '')}>
            <option value="">Choose…</option>
            {NEXT[report.status].map((value) => (
              <option key={value} value={value}>
                {STATUS_LABELS[value]}
              </option>
            ))}
          </select>
        </div>
        {target === 'ADDITIONAL_DATA_REQUIRED' && (
          <div className="field">
            <label htmlFor="report-message">What do you need?</label>
            <textarea id="report-message" rows={3} value={message} onChange={(e) => setMessage(e.target.value)} />
          </div>
        )}
        <button type="submit" className="button" disabled={busy || !target}>
          Change status
        </button>
      </form>
      {result && (
        <p role={result.ok ? 'status' : 'alert'} className={result.ok ? 'field-hint' : 'field-error'}>
          {result.text}
        </p>
      )}
    </div>
  );
}
