import { useEffect, useRef } from 'react';
import { Link } from 'react-router-dom';

import { reportPath } from '@/config/paths';
import { ReportStatusBadge } from '@/features/reports/components/report-status-badge';
import type { Report } from '@/features/reports/types/reports';

interface Props {
  report: Report;
  myId: string;
  /**
   * Radiologists and admins: "Assign to me" on every open report nobody has taken (taking over
   * a colleague's is not a one-click action: the report page does it).
   */
  assignable: boolean;
  online: boolean;
  busy: boolean;
  error: string | null;
  /** Just assigned from this list: its button is gone, so focus goes to the report's link. */
  justAssigned: boolean;
  onAssign: (report: Report) => void;
}

export function WorklistItem({ report, myId, assignable, online, busy, error, justAssigned, onAssign }: Props) {
  const link = useRef<HTMLAnchorElement>(null);
  useEffect(() => {
    if (justAssigned) link.current?.focus();
  }, [justAssigned]);
  const mine = report.assignee_id === myId;
  const canTake = assignable && !report.assignee_id && report.status !== 'READY';
  const titleId = `report-title-${report.id}`;
  const errorId = `report-assign-error-${report.id}`;
  return (
    <li
      className="report-item"
      data-report-id={report.id}
      data-status={report.status}
      data-service-level={report.service_level}
      data-modality={report.modality}
      data-assigned={mine ? 'me' : report.assignee_id ? 'other' : 'none'}
    >
      <div className="report-item-main">
        <p className="report-item-title" id={titleId}>
          <Link ref={link} to={reportPath(report.id)}>
            {report.patient_name} · {report.modality} · {report.study_date}
          </Link>
        </p>
        <p className="history-item-meta">
          <span className={`badge level-${report.service_level}`}>{report.service_level}</span> · {report.facility} ·
          received <time dateTime={report.created_at}>{new Date(report.created_at).toLocaleString()}</time>
        </p>
        {assignable && (
          <p className="history-item-meta">
            {mine ? 'Assigned to you' : report.assignee_id ? 'Assigned to another radiologist' : 'Unassigned'}
          </p>
        )}
        {error && (
          <p className="alert alert-error" id={errorId} role="alert">
            {error}
          </p>
        )}
      </div>
      <div className="button-row report-item-actions">
        {/* Sent to radiologists and admins only (the report page says more). */}
        {report.sync_warning && (
          <span className="badge badge-warning" title={report.sync_warning.message}>
            PACS report held back
          </span>
        )}
        <ReportStatusBadge status={report.status} />
        {canTake && (
          <button
            type="button"
            className="button button-secondary"
            aria-describedby={error ? `${titleId} ${errorId}` : titleId}
            disabled={busy || !online}
            title={online ? undefined : 'Assigning needs a connection'}
            onClick={() => onAssign(report)}
          >
            {busy ? 'Assigning…' : 'Assign to me'}
          </button>
        )}
      </div>
    </li>
  );
}
