/** The resumable upload protocol's shapes (backend/relaypacs/uploads/schemas.py). */

export type ServiceLevel = 'STAT' | 'EMERGENCY' | 'ROUTINE';

export const SERVICE_LEVELS: readonly ServiceLevel[] = ['STAT', 'EMERGENCY', 'ROUTINE'];

export interface StudyMetadata {
  patient_name: string;
  /** YYYY-MM-DD */
  study_date: string;
  modality: string;
  service_level: ServiceLevel;
  notes?: string | null;
}

export interface FileDeclaration {
  name: string;
  size: number;
}

export interface FilePlan {
  index: number;
  name: string;
  size: number;
  total_chunks: number;
}

export interface UploadCreated {
  upload_id: string;
  upload_token: string;
  chunk_size: number;
  files: FilePlan[];
  expires_at: string;
}

export type ServerUploadState =
  | 'uploading'
  | 'processing'
  | 'queued'
  | 'forwarding'
  | 'forwarded'
  | 'failed'
  | 'expired'
  | 'cancelled';

export interface FileProgress {
  index: number;
  total_chunks: number;
  received: number;
  missing: number[];
}

export interface UploadStatus {
  upload_id: string;
  state: ServerUploadState;
  expires_at: string;
  files: FileProgress[];
}

export interface CompleteAccepted {
  upload_id: string;
  state: ServerUploadState;
  study_instance_uid: string | null;
  instances: number;
  warnings: string[];
  skipped_files: Record<string, unknown>[];
}

/** The JSON error body every API error has. */
export interface ApiErrorBody {
  error: { code: string; message: string; [detail: string]: unknown };
}
