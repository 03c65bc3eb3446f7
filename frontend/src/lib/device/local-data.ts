/**
 * What this device keeps (Settings → This device): storage figures, persistent storage and
 * "Clear local data". Clearing deletes the upload queue with its files, cached API answers and
 * stored settings; the sign-in (the `auth` table) stays, signing out removes it.
 */
import { db } from '@/lib/db';
import { publishQueueEvent } from '@/lib/upload/queue-events';

export interface QueueUsage {
  /** Uploads on this device the server has not fully received (lost if cleared). */
  unsent: number;
  /** Bytes of the files the queue stores. */
  bytes: number;
}

export async function queueUsage(): Promise<QueueUsage> {
  const [entries, blobs] = await Promise.all([db.queue.toArray(), db.blobs.toArray()]);
  return {
    unsent: entries.filter((entry) => entry.state !== 'completed').length,
    bytes: blobs.reduce((sum, row) => sum + (row.blob?.size ?? 0), 0),
  };
}

export interface StorageFigures {
  usage: number | null;
  quota: number | null;
}

type StorageLike = Pick<StorageManager, 'estimate' | 'persisted' | 'persist'>;

function storage(): StorageLike | undefined {
  return typeof navigator === 'undefined' ? undefined : navigator.storage;
}

export async function storageEstimate(target: StorageLike | undefined = storage()): Promise<StorageFigures> {
  if (!target?.estimate) return { usage: null, quota: null };
  const { usage, quota } = await target.estimate();
  return { usage: usage ?? null, quota: quota ?? null };
}

export type PersistState = 'unsupported' | 'persisted' | 'not-persisted';

export async function persistState(target: StorageLike | undefined = storage()): Promise<PersistState> {
  if (!target?.persisted) return 'unsupported';
  return (await target.persisted()) ? 'persisted' : 'not-persisted';
}

/** Asks the browser not to evict this site's data; resolves with the resulting state. */
export async function requestPersistence(target: StorageLike | undefined = storage()): Promise<PersistState> {
  if (!target?.persist) return 'unsupported';
  return (await target.persist()) ? 'persisted' : 'not-persisted';
}

export interface ClearOptions {
  /** How many unsent uploads the user confirmed losing; refused when there are more now. */
  confirmedUnsent: number;
  /** Stops the sender and its transfers first (the page's upload runner). */
  stopUploads?: (ids: string[]) => Promise<void>;
}

export class UnconfirmedLoss extends Error {
  constructor(readonly unsent: number) {
    super(`${unsent} queued upload(s) would be lost; confirm again.`);
    this.name = 'UnconfirmedLoss';
  }
}

/**
 * Deletes the queue, its files, cached answers and settings. Never loses an upload the user
 * did not count: if more unsent uploads exist than were confirmed, nothing is deleted.
 */
export async function clearLocalData({ confirmedUnsent, stopUploads }: ClearOptions): Promise<void> {
  const { unsent } = await queueUsage();
  if (unsent > confirmedUnsent) throw new UnconfirmedLoss(unsent);
  const ids = (await db.queue.toArray()).map((entry) => entry.id);
  if (stopUploads && ids.length > 0) await stopUploads(ids);
  await db.transaction('rw', [db.queue, db.blobs, db.cache, db.settings], async () => {
    // Queued meanwhile (another tab): not counted in the confirmation, so nothing is deleted.
    const now = await db.queue.filter((entry) => entry.state !== 'completed').count();
    if (now > confirmedUnsent) throw new UnconfirmedLoss(now);
    await Promise.all([db.queue.clear(), db.blobs.clear(), db.cache.clear(), db.settings.clear()]);
  });
  try {
    for (const key of Object.keys(localStorage)) if (key.startsWith('relaypacs.')) localStorage.removeItem(key);
  } catch {
    // no localStorage (private mode): nothing stored there
  }
  for (const id of ids) publishQueueEvent({ type: 'changed', id });
}
