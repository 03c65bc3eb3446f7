/** The resumable upload protocol's shapes (generated from backend/relaypacs/uploads/schemas.py). */
import type { Schemas } from '@/types/api';
import { serviceLevelValues } from '@/types/api.gen';

export type UploadInit = Schemas['UploadInit'];
export type ServiceLevel = Schemas['ServiceLevel'];

/** Every service level, most urgent first (the backend's reading order). */
export const SERVICE_LEVELS: readonly ServiceLevel[] = serviceLevelValues;

/** The study fields of an upload (what the form collects and the queue keeps). */
export type StudyMetadata = Pick<UploadInit, 'patient_name' | 'study_date' | 'modality' | 'service_level' | 'notes'>;

export type FileDeclaration = Schemas['FileDeclaration'];
export type FilePlan = Schemas['FilePlan'];
export type UploadCreated = Schemas['UploadCreated'];
export type ServerUploadState = Schemas['UploadState'];
export type FileProgress = Schemas['FileProgress'];
export type UploadStatus = Schemas['UploadStatus'];
export type CompleteAccepted = Schemas['CompleteAccepted'];
