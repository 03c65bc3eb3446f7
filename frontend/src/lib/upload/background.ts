/**
 * Sending queued uploads without the page's help: the service worker's Background Sync
 * handler calls drainQueue(); the page uses sendEntry() for the same work. Only uploads
 * already initialised on the server are sent here (they carry their X-Upload-Token);
 * initialising needs the user's access token and is done by the page.
 */
import { backgroundSession, initEntry } from '@/lib/upload/background-init';
import { ChunkTransfer, type TransferOptions, type TransferOutcome } from '@/lib/upload/chunk-transfer';
import { publishQueueEvent } from '@/lib/upload/queue-events';
import type { QueueRecord } from '@/lib/upload/queue-types';
import { getBlob, getEntry, listEntries, markCompleted, updateEntry } from '@/lib/upload/queue-store';
import { withUploadLock } from '@/lib/upload/upload-lock';

export const UPLOAD_SYNC_TAG = 'relaypacs-upload-queue';

export interface SendEntryOptions
  extends Omit<TransferOptions, 'getBlob'> {
  /** Receives the transfer so the caller can pause or cancel it. */
  onStart?: (transfer: ChunkTransfer) => void;
  /** Wait for the lock when another context holds it (the page does; the SW does not). */
  waitForLock?: boolean;
}

export type SendResult = TransferOutcome | { kind: 'busy' } | { kind: 'skipped' };

/** Persist the progress now and then (display only), not on every chunk. */
const PROGRESS_SAVE_MS = 2_000;

/** Sends one initialised entry under its lock; records the outcome in IndexedDB. */
export async function sendEntry(id: string, options: SendEntryOptions = {}): Promise<SendResult> {
  const { onStart, waitForLock, ...transferOptions } = options;
  const locked = await withUploadLock(
    id,
    async (): Promise<SendResult> => {
      // Re-read under the lock: another context may have finished or paused it meanwhile.
      const entry = await getEntry(id);
      if (!entry || entry.state !== 'uploading' || !entry.server) return { kind: 'skipped' };
      return transferEntry(entry, transferOptions, onStart);
    },
    { wait: waitForLock },
  );
  return locked.acquired ? locked.value : { kind: 'busy' };
}

async function transferEntry(
  entry: QueueRecord,
  options: Omit<TransferOptions, 'getBlob'>,
  onStart?: (transfer: ChunkTransfer) => void,
): Promise<TransferOutcome> {
  const server = entry.server!;
  const blobs = new Map<number, Blob>();
  let savedAt = 0;
  const transfer = new ChunkTransfer(
    {
      uploadId: server.uploadId,
      uploadToken: server.uploadToken,
      chunkSize: server.chunkSize,
      sizes: entry.files.map((f) => f.size),
    },
    {
      ...options,
      getBlob: async (file) => {
        let blob = blobs.get(file);
        if (!blob) {
          blob = await getBlob(entry.id, file);
          blobs.set(file, blob);
        }
        return blob;
      },
      onProgress: (progress) => {
        options.onProgress?.(progress);
        const now = Date.now();
        if (now - savedAt >= PROGRESS_SAVE_MS) {
          savedAt = now;
          // Other contexts (a page while the service worker sends) show it from the row.
          void updateEntry(entry.id, { doneBytes: progress.doneBytes }).then(() =>
            publishQueueEvent({ type: 'progress', id: entry.id }),
          );
        }
      },
    },
  );
  onStart?.(transfer);
  publishQueueEvent({ type: 'started', id: entry.id });
  const outcome = await transfer.run();
  blobs.clear();
  await recordOutcome(entry, outcome);
  return outcome;
}

async function recordOutcome(entry: QueueRecord, outcome: TransferOutcome): Promise<void> {
  switch (outcome.kind) {
    case 'completed':
      await markCompleted(entry.id, {
        serverState: outcome.serverState,
        instances: outcome.result?.instances ?? null,
        studyInstanceUid: outcome.result?.study_instance_uid ?? null,
      });
      publishQueueEvent({ type: 'completed', id: entry.id });
      await notifyCompleted(entry);
      return;
    case 'failed':
      await updateEntry(entry.id, {
        state: 'failed',
        error: { code: outcome.code, message: outcome.message, status: outcome.status, details: outcome.body },
      });
      publishQueueEvent({ type: 'failed', id: entry.id });
      return;
    case 'paused':
      await updateEntry(entry.id, { state: 'paused' });
      publishQueueEvent({ type: 'changed', id: entry.id });
      return;
    case 'retry-later':
      await updateEntry(entry.id, {
        error: { code: outcome.reason, message: outcome.message },
      });
      publishQueueEvent({ type: 'changed', id: entry.id });
      return;
    case 'cancelled':
      // The canceller deletes the entry.
      return;
  }
}

type NotificationRegistration = Pick<ServiceWorkerRegistration, 'showNotification'>;

async function notificationRegistration(): Promise<NotificationRegistration | null> {
  if (typeof Notification === 'undefined' || Notification.permission !== 'granted') return null;
  const scope = globalThis as unknown as { registration?: ServiceWorkerRegistration };
  if (scope.registration && typeof scope.registration.showNotification === 'function') {
    return scope.registration; // inside the service worker
  }
  if (typeof navigator !== 'undefined' && navigator.serviceWorker) {
    return (await navigator.serviceWorker.getRegistration()) ?? null;
  }
  return null;
}

/** A system notification through the SW registration, when the user allowed them. */
export async function notifyCompleted(entry: QueueRecord): Promise<void> {
  try {
    const registration = await notificationRegistration();
    await registration?.showNotification('Upload complete', {
      body: `${entry.files.length} file(s) of a ${entry.metadata.modality} study were received and are on their way to PACS.`,
      tag: `upload-${entry.id}`,
      icon: '/icons/icon-192.png',
    });
  } catch {
    // A notification is a courtesy; the queue entry already says "completed".
  }
}

export interface DrainOptions extends SendEntryOptions {
  /** Origin for fetch (the SW passes its own; the page uses same-origin paths). */
  baseUrl?: string;
  /** Initialise uploads queued offline too (needs the stored session); default true. */
  initialise?: boolean;
  /** How long to wait for the network when called offline (default 2 min; 0: do not wait). */
  offlineWaitMs?: number;
}

/** Less than the time Chromium gives a sync event (3 min) before it counts it as failed. */
const OFFLINE_WAIT_MS = 2 * 60_000;

function reportsOffline(): boolean {
  return typeof navigator !== 'undefined' && navigator.onLine === false;
}

/** Resolves when navigator.onLine is true again (or after maxMs). */
async function untilOnline(maxMs: number): Promise<void> {
  if (!reportsOffline() || maxMs <= 0) return;
  await new Promise<void>((resolve) => {
    const scope = globalThis as unknown as EventTarget;
    const done = () => {
      clearInterval(poll);
      clearTimeout(timer);
      scope.removeEventListener('online', done);
      resolve();
    };
    // The `online` event where the context has one; a poll where it does not.
    const poll = setInterval(() => {
      if (!reportsOffline()) done();
    }, 1000);
    const timer = setTimeout(done, maxMs);
    scope.addEventListener('online', done);
  });
}

/** Initialises the signed-in user's pending uploads; returns how many must wait. */
async function initialisePending(
  pending: QueueRecord[],
  baseUrl: string,
  fetchImpl?: typeof fetch,
): Promise<number> {
  const session = await backgroundSession(baseUrl, fetchImpl);
  if (!session) return pending.length;
  let waiting = 0;
  for (const entry of pending) {
    // Only the signed-in user's uploads, and only one initialiser per entry (under its lock).
    if (entry.ownerId && session.userId && entry.ownerId !== session.userId) continue;
    const locked = await withUploadLock(entry.id, async () => {
      const current = await getEntry(entry.id);
      if (current?.state !== 'pending') return null;
      return initEntry(current, session, baseUrl, fetchImpl);
    });
    if (!locked.acquired || locked.value === 'retry-later') waiting += 1;
  }
  return waiting;
}

/**
 * Sends every initialised upload that is not paused, one after another. Throws when some
 * could not be finished for transient reasons, so Background Sync tries again later.
 */
export async function drainQueue(options: DrainOptions = {}): Promise<void> {
  // Fired while the device is (still) offline: hold the event open until the network is back,
  // rather than fail and wait for the browser's next retry (minutes away in Chromium).
  await untilOnline(options.offlineWaitMs ?? OFFLINE_WAIT_MS);
  const baseUrl =
    options.baseUrl ??
    (typeof location !== 'undefined' && typeof window === 'undefined' ? location.origin : '');
  let unfinished = 0;
  const pending = (await listEntries()).filter((e) => e.state === 'pending');
  if (pending.length > 0 && options.initialise !== false) {
    unfinished += await initialisePending(pending, baseUrl, options.fetchImpl);
  }
  for (const entry of await listEntries()) {
    if (entry.state !== 'uploading' || !entry.server) continue;
    const result = await sendEntry(entry.id, { ...options, baseUrl });
    if (result.kind === 'retry-later') unfinished += 1;
  }
  if (unfinished > 0) {
    throw new Error(`${unfinished} upload(s) could not be finished yet; will retry`);
  }
}
