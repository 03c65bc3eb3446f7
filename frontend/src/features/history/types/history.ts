import type { Schemas } from '@/types/api';

export type UploadState = Schemas['UploadState'];
export type UploadSummary = Schemas['UploadRead'];
export type UploadsPage = Schemas['UploadPage'];
export type Receipt = Schemas['ReceiptRead'];
export type ForwardJob = Schemas['ForwardJobRead'];
export type UploadFile = Schemas['UploadFileRead'];
export type UploadDetail = Schemas['UploadDetail'];
