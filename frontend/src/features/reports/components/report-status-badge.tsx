import type { ReportStatus } from '@/features/reports/types/reports';

export const STATUS_LABELS: Record<ReportStatus, string> = {
  ASSIGNED: 'Waiting for a radiologist',
  PENDING: 'Being reported',
  ADDITIONAL_DATA_REQUIRED: 'Additional data required',
  READY: 'Ready',
};

export function ReportStatusBadge({ status }: { status: ReportStatus }) {
  return (
    <span className={`badge status-${status}`} data-status={status}>
      {STATUS_LABELS[status] ?? status}
    </span>
  );
}
