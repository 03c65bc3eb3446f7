/**
 * Row types of the `queue` and `blobs` tables in the `relaypacs` IndexedDB database (src/lib/db.ts).
 * Part B (upload feature) owns this file and may add fields freely; changing the *indexed* fields
 * (`id`, `createdAt`, `state`, `queueId`, `fileIndex`) needs a new version in src/lib/db.ts.
 */
export interface QueueRecord {
  /** Local UUID (crypto.randomUUID()), primary key. */
  id: string;
  /** Epoch milliseconds. */
  createdAt: number;
  state: string;
}

export interface BlobRecord {
  queueId: string;
  fileIndex: number;
  blob: Blob;
}
