import type { Schemas } from '@/types/api';

export type ReportStatus = Schemas['ReportStatus'];

/** In the order of the status filter. */
export const REPORT_STATUSES: ReportStatus[] = ['ASSIGNED', 'PENDING', 'ADDITIONAL_DATA_REQUIRED', 'READY'];

export type Report = Schemas['ReportRead'];
export type ReportNote = Schemas['ReportNoteRead'];
export type ReportDetail = Schemas['ReportDetail'];
export type ReportPage = Schemas['ReportPage'];
/** A report instance the PACS sync held back (another patient's): radiologists and admins only. */
export type SyncWarning = Schemas['SyncWarning'];

/**
 * Data of a `report_updated` stream event (reports/notices.py): live-only, so not in the
 * OpenAPI document.
 */
export interface ReportUpdatedEvent {
  report_id: string;
  upload_id: string;
  status: string;
  service_level: string;
  modality: string;
  assignee_id: string | null;
  updated_at: string;
}
