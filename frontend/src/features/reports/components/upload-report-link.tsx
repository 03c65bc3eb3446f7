import { useEffect, useState } from 'react';
import { Link } from 'react-router-dom';

import { reportPath } from '@/config/paths';
import { getReportOfUpload } from '@/features/reports/api/reports';
import { ReportStatusBadge } from '@/features/reports/components/report-status-badge';
import type { ReportDetail } from '@/features/reports/types/reports';
import { useOnline } from '@/lib/network';
import { useStreamEvents } from '@/lib/notifications/notifications-context';

/** The status of an upload's report and a link to it (nothing while it has none); kept current live. */
export function UploadReportLink({ uploadId }: { uploadId: string }) {
  const online = useOnline();
  const [report, setReport] = useState<ReportDetail | null>(null);
  const [tick, setTick] = useState(0);

  useEffect(() => {
    if (!online) return;
    let cancelled = false;
    getReportOfUpload(uploadId).then(
      (found) => !cancelled && setReport(found),
      () => !cancelled && setReport(null),
    );
    return () => {
      cancelled = true;
    };
  }, [uploadId, online, tick]);
  useStreamEvents(['report_updated', 'notification'], () => setTick((value) => value + 1));

  if (!report) return null;
  return (
    <p>
      Report: <ReportStatusBadge status={report.status} /> <Link to={reportPath(report.id)}>Open the report</Link>
    </p>
  );
}
