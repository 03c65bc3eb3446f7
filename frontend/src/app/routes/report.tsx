import { ReportDetailPage } from '@/features/reports/components/report-detail-page';

export function ReportRoute() {
  return <ReportDetailPage />;
}
