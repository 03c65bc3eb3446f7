/** Mirrors backend/relaypacs/reports/schemas.py. */
export type ReportStatus = 'ASSIGNED' | 'PENDING' | 'READY' | 'ADDITIONAL_DATA_REQUIRED';

export const REPORT_STATUSES: ReportStatus[] = ['ASSIGNED', 'PENDING', 'ADDITIONAL_DATA_REQUIRED', 'READY'];

export interface Report {
  id: string;
  upload_id: string;
  uploader_id: string;
  facility: string;
  study_instance_uid: string;
  patient_name: string;
  study_date: string;
  modality: string;
  service_level: string;
  destination: string | null;
  status: ReportStatus;
  assignee_id: string | null;
  findings: string | null;
  impression: string | null;
  additional_data_message: string | null;
  pacs_report_kind: string | null;
  pacs_report_text: string | null;
  reported_by_id: string | null;
  created_at: string;
  updated_at: string;
  ready_at: string | null;
  last_synced_at: string | null;
}

export interface ReportNote {
  id: string;
  author_id: string;
  body: string;
  upload_id: string | null;
  created_at: string;
}

export interface ReportDetail extends Report {
  notes: ReportNote[];
  has_pdf_attachment: boolean;
}

export interface ReportPage {
  items: Report[];
  total: number;
  page: number;
  page_size: number;
}

/** Data of a `report_updated` stream event (reports/notices.py `summary`). */
export interface ReportUpdatedEvent {
  report_id: string;
  upload_id: string;
  status: string;
  service_level: string;
  modality: string;
  assignee_id: string | null;
  updated_at: string;
}
