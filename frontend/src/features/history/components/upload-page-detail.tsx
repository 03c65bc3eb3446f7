import { useCallback, useEffect, useState } from 'react';
import { Link, useParams } from 'react-router-dom';

import { paths, reportPath } from '@/config/paths';
import { getUpload } from '@/features/history/api/get-upload';
import { UploadDetails } from '@/features/history/components/upload-details';
import { UploadStateBadge } from '@/features/history/components/upload-state-badge';
import { useCachedQuery } from '@/features/history/hooks/use-cached-query';
import type { UploadDetail } from '@/features/history/types/history';
import { getReportOfUpload } from '@/features/reports/api/reports';
import { ReportStatusBadge } from '@/features/reports/components/report-status-badge';
import type { ReportDetail } from '@/features/reports/types/reports';
import { useOnline } from '@/lib/network';
import { useStreamEvents } from '@/lib/notifications/notifications-context';

/** `/history/:uploadId`: one upload (where push and in-app notifications about it lead). */
export function UploadDetailPage() {
  const { uploadId = '' } = useParams();
  const online = useOnline();
  const fetcher = useCallback(() => getUpload(uploadId), [uploadId]);
  const query = useCachedQuery<UploadDetail>(`history:upload:${uploadId}`, fetcher, { online, pollMs: 10_000 });
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

  const upload = query.data;
  return (
    <section aria-labelledby="upload-title" className="page">
      <p>
        <Link to={paths.history}>← Upload history</Link>
      </p>
      {query.loading && !upload && <p role="status">Loading the upload…</p>}
      {query.error && !upload && (
        <p role="alert" className="alert alert-error">
          {query.error}
        </p>
      )}
      {upload && (
        <>
          <div className="page-header">
            <h1 id="upload-title">
              {upload.patient_name} · {upload.modality} · {upload.study_date}
            </h1>
            <UploadStateBadge state={upload.state} />
          </div>
          <p className="history-item-meta">
            {upload.service_level} · sent <time dateTime={upload.created_at}>{new Date(upload.created_at).toLocaleString()}</time>
          </p>
          {report && (
            <p>
              Report: <ReportStatusBadge status={report.status} />{' '}
              <Link to={reportPath(report.id)}>Open the report</Link>
            </p>
          )}
          <UploadDetails uploadId={upload.id} />
        </>
      )}
    </section>
  );
}
