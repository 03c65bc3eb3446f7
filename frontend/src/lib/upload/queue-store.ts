/** The offline upload queue in IndexedDB: entries with their metadata and their files' Blobs. */
import { db } from '@/lib/db';
import type { QueueRecord, QueueState, ServerUpload } from '@/lib/upload/queue-types';
import type { StudyMetadata, UploadCreated } from '@/lib/upload/types';

/** States the sender picks up by itself (paused, duplicate, failed wait for the user). */
export const SENDABLE_STATES: readonly QueueState[] = ['pending', 'uploading'];

function newId(): string {
  return typeof crypto !== 'undefined' && 'randomUUID' in crypto
    ? crypto.randomUUID()
    : `${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}`;
}

export interface EnqueueInput {
  metadata: StudyMetadata;
  files: readonly File[];
  ownerId: string | null;
  forceUpload?: boolean;
  /** The user's chunk size preference (Settings → Upload preferences). */
  chunkSize?: number;
}

/** Saves the study and its files (as Blob references, never read into memory) in one transaction. */
export async function enqueue(input: EnqueueInput): Promise<QueueRecord> {
  const record: QueueRecord = {
    id: newId(),
    createdAt: Date.now(),
    state: 'pending',
    ownerId: input.ownerId,
    metadata: input.metadata,
    files: input.files.map((f) => ({ name: relativeName(f), size: f.size })),
    totalBytes: input.files.reduce((sum, f) => sum + f.size, 0),
    forceUpload: input.forceUpload ?? false,
    ...(input.chunkSize ? { chunkSize: input.chunkSize } : {}),
    doneBytes: 0,
    updatedAt: Date.now(),
  };
  await db.transaction('rw', db.queue, db.blobs, async () => {
    await db.queue.add(record);
    await db.blobs.bulkAdd(
      input.files.map((blob, fileIndex) => ({ queueId: record.id, fileIndex, blob })),
    );
  });
  return record;
}

/** The name sent to the server: the file name, at most 255 characters. */
export function relativeName(file: File): string {
  const name = file.name || 'file.dcm';
  return name.length > 255 ? name.slice(name.length - 255) : name;
}

export async function listEntries(): Promise<QueueRecord[]> {
  return db.queue.orderBy('createdAt').toArray();
}

export async function getEntry(id: string): Promise<QueueRecord | undefined> {
  return db.queue.get(id);
}

export async function updateEntry(id: string, changes: Partial<QueueRecord>): Promise<void> {
  await db.queue.update(id, { ...changes, updatedAt: Date.now() });
}

export function serverUpload(created: UploadCreated): ServerUpload {
  return {
    uploadId: created.upload_id,
    uploadToken: created.upload_token,
    chunkSize: created.chunk_size,
    expiresAt: created.expires_at,
    totalChunks: [...created.files].sort((a, b) => a.index - b.index).map((f) => f.total_chunks),
  };
}

export async function getBlob(queueId: string, fileIndex: number): Promise<Blob> {
  const row = await db.blobs.get([queueId, fileIndex]);
  if (!row) throw new Error(`file #${fileIndex} of this upload is no longer stored on this device`);
  return row.blob;
}

export async function countBlobs(queueId: string): Promise<number> {
  return db.blobs.where('queueId').equals(queueId).count();
}

/** Once the server has acknowledged completion, the local copies go. */
export async function markCompleted(id: string, result: QueueRecord['result']): Promise<void> {
  await db.transaction('rw', db.queue, db.blobs, async () => {
    await db.queue.update(id, {
      state: 'completed',
      result,
      error: undefined,
      completedAt: Date.now(),
      updatedAt: Date.now(),
    });
    await db.blobs.where('queueId').equals(id).delete();
  });
}

/** Removes the entry and its Blobs (cancel, discard, clear). */
export async function deleteEntry(id: string): Promise<void> {
  await db.transaction('rw', db.queue, db.blobs, async () => {
    await db.queue.delete(id);
    await db.blobs.where('queueId').equals(id).delete();
  });
}

/** Finished entries older than maxAgeMs are forgotten. */
export async function pruneFinished(maxAgeMs: number, now = Date.now()): Promise<void> {
  const old = await db.queue
    .where('state')
    .equals('completed')
    .filter((e) => (e.completedAt ?? e.createdAt) < now - maxAgeMs)
    .primaryKeys();
  await Promise.all(old.map((id) => deleteEntry(id)));
}
