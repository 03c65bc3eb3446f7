import type { ReportDetail, ReportNote, ReportPage, ReportStatus } from '@/features/reports/types/reports';
import { apiClient } from '@/lib/api-client';
import { saveBlob } from '@/lib/download';

/** One page of the reports I may see, filtered and sorted (`utils/worklist-query.ts`); the API sets the page size. */
export async function getReports(params: Record<string, string | number> = {}): Promise<ReportPage> {
  const { data } = await apiClient.get<ReportPage>('/api/reports', { params });
  return data;
}

export async function getReport(reportId: string): Promise<ReportDetail> {
  const { data } = await apiClient.get<ReportDetail>(`/api/reports/${encodeURIComponent(reportId)}`);
  return data;
}

export async function getReportOfUpload(uploadId: string): Promise<ReportDetail> {
  const { data } = await apiClient.get<ReportDetail>(`/api/reports/upload/${encodeURIComponent(uploadId)}`);
  return data;
}

export async function addReportNote(reportId: string, body: string): Promise<ReportNote> {
  const { data } = await apiClient.post<ReportNote>(`/api/reports/${encodeURIComponent(reportId)}/notes`, { body });
  return data;
}

export async function changeReportStatus(
  reportId: string,
  status: ReportStatus,
  message?: string,
): Promise<ReportDetail> {
  const { data } = await apiClient.post<ReportDetail>(`/api/reports/${encodeURIComponent(reportId)}/status`, {
    status,
    ...(message ? { message } : {}),
  });
  return data;
}

export async function assignReportToMe(reportId: string): Promise<ReportDetail> {
  const { data } = await apiClient.post<ReportDetail>(`/api/reports/${encodeURIComponent(reportId)}/assign`, {});
  return data;
}

export async function updateReportText(
  reportId: string,
  changes: { findings?: string; impression?: string },
): Promise<ReportDetail> {
  const { data } = await apiClient.patch<ReportDetail>(`/api/reports/${encodeURIComponent(reportId)}`, changes);
  return data;
}

/**
 * The report PDF through apiClient (the access token goes in the Authorization header, never in a
 * URL), saved with a temporary object URL.
 */
export async function downloadReportPdf(reportId: string): Promise<string> {
  const response = await apiClient.get<Blob>(`/api/reports/${encodeURIComponent(reportId)}/download`, {
    responseType: 'blob',
    headers: { Accept: 'application/pdf' },
  });
  return saveBlob(response, `report-${reportId}.pdf`, 'application/pdf');
}
