/** Mirrors backend/relaypacs/uploads/schemas.py (UploadRead, UploadDetail) and pacs/schemas.py. */
export type UploadState =
  | 'uploading'
  | 'processing'
  | 'queued'
  | 'forwarding'
  | 'forwarded'
  | 'failed'
  | 'expired'
  | 'cancelled';

export interface UploadSummary {
  id: string;
  user_id: string;
  facility: string;
  patient_name: string;
  study_date: string;
  modality: string;
  service_level: string;
  notes: string | null;
  state: UploadState;
  chunk_size: number;
  file_count: number;
  total_bytes: number;
  created_at: string;
  expires_at: string;
  completed_at: string | null;
  study_instance_uid: string | null;
  warnings: string[];
  skipped_files: Record<string, unknown>[];
}

export interface UploadsPage {
  items: UploadSummary[];
  total: number;
  page: number;
  page_size: number;
}

export interface Receipt {
  id: string;
  destination: string;
  attempt: number;
  outcome: string;
  http_status: number | null;
  referenced: string[];
  failed: Record<string, unknown>[];
  retrieve_url: string | null;
  instances_sent: number;
  bytes_sent: number;
  error: string | null;
  started_at: string;
  duration_ms: number;
  delivered: boolean;
}

export interface ForwardJob {
  id: string;
  destination: string;
  role: string;
  state: string;
  attempts: number;
  next_attempt_at: string;
  last_error: string | null;
  delivered_at: string | null;
  receipt_id: string | null;
  instances_stored: number;
  instances_total: number;
  receipts: Receipt[];
}

export interface UploadFile {
  index: number;
  name: string;
  size: number;
  status: string;
  note: string | null;
}

export interface UploadDetail extends UploadSummary {
  files: UploadFile[];
  instance_count: number;
  forwarding: ForwardJob[];
}
