/**
 * Row types of the `queue` and `blobs` tables in the `relaypacs` IndexedDB database (src/lib/db.ts).
 * Part B (upload feature) owns this file and may add fields freely; changing the *indexed* fields
 * (`id`, `createdAt`, `state`, `queueId`, `fileIndex`) needs a new version in src/lib/db.ts.
 */
import type { FileDeclaration, StudyMetadata } from '@/lib/upload/types';

/**
 * - `pending`:   saved locally, not initialised on the server yet (e.g. queued offline)
 * - `duplicate`: init answered 409 duplicate_study; waits for "Send anyway" or discard
 * - `uploading`: initialised; chunks go (or will go when online) — resumes from status
 * - `paused`:    the user paused it
 * - `completed`: the server accepted complete; Blobs deleted
 * - `failed`:    the server refused for good (see `error`)
 */
export type QueueState = 'pending' | 'duplicate' | 'uploading' | 'paused' | 'completed' | 'failed';

export interface ServerUpload {
  uploadId: string;
  uploadToken: string;
  chunkSize: number;
  expiresAt: string;
  totalChunks: number[];
}

export interface QueueError {
  code: string;
  message: string;
  status?: number;
  details?: unknown;
}

export interface QueueRecord {
  /** Local UUID (crypto.randomUUID()), primary key. */
  id: string;
  /** Epoch milliseconds. */
  createdAt: number;
  state: QueueState;
  /** The user who queued it: another user signed in on this device never sends it. */
  ownerId: string | null;
  metadata: StudyMetadata;
  files: FileDeclaration[];
  totalBytes: number;
  forceUpload: boolean;
  /**
   * The chunk size asked for at init: the user's preference when the study was queued (absent:
   * the server's default for the user). The size the server granted is `server.chunkSize`.
   */
  chunkSize?: number;
  server?: ServerUpload;
  /** Last known bytes held by the server (display only; the truth is GET …/status). */
  doneBytes?: number;
  error?: QueueError;
  duplicateOf?: Record<string, unknown>;
  result?: { serverState: string; instances: number | null; studyInstanceUid: string | null };
  completedAt?: number;
  updatedAt?: number;
}

export interface BlobRecord {
  queueId: string;
  fileIndex: number;
  blob: Blob;
}
