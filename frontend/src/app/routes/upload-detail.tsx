import { UploadDetailPage } from '@/features/history/components/upload-page-detail';
import { UploadReportLink } from '@/features/reports/components/upload-report-link';

/** `/history/:uploadId`: the upload (history) with the state of its report (reports). */
export function UploadDetailRoute() {
  return <UploadDetailPage renderReport={(upload) => <UploadReportLink uploadId={upload.id} />} />;
}
