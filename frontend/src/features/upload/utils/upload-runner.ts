/**
 * The page's side of the upload queue: initialises saved uploads (which needs the access
 * token), then sends them one after another with the shared engine, under the same per-upload
 * lock as the service worker. Runs on `online`, on start, and whenever something is queued.
 */
import { errorCode, errorMessage, errorStatus } from '@/lib/api-client';
import { sendEntry, UPLOAD_SYNC_TAG } from '@/lib/upload/background';
import type { ChunkTransfer, TransferProgress } from '@/lib/upload/chunk-transfer';
import { flushPending } from '@/lib/preferences/preferences-store';
import { subscribeQueueEvents } from '@/lib/upload/queue-events';
import { TransferApi } from '@/lib/upload/transfer-api';
import { isUploadLocked, withUploadLock } from '@/lib/upload/upload-lock';
import type { QueueRecord } from '@/lib/upload/queue-types';
import {
  deleteEntry,
  enqueue,
  getEntry,
  listEntries,
  pruneFinished,
  serverUpload,
  updateEntry,
  type EnqueueInput,
} from '@/lib/upload/queue-store';
import { initUpload } from '@/features/upload/api/init-upload';

export interface Toast {
  id: number;
  kind: 'success' | 'error' | 'info';
  message: string;
}

export interface EntryView {
  entry: QueueRecord;
  progress: TransferProgress | null;
  /** This page is sending it now. */
  sending: boolean;
  /** Another context (the service worker, another tab) is sending it now. */
  elsewhere: boolean;
}

export interface OverallProgress {
  totalBytes: number;
  doneBytes: number;
  bytesPerSecond: number;
  etaSeconds: number | null;
  active: number;
}

export interface QueueSnapshot {
  entries: EntryView[];
  overall: OverallProgress;
  toasts: Toast[];
  loaded: boolean;
}

const RETRY_LATER_MS = 15_000;
const KEEP_FINISHED_MS = 24 * 60 * 60 * 1000;
const EMIT_INTERVAL_MS = 250;

function online(): boolean {
  return typeof navigator === 'undefined' || navigator.onLine !== false;
}

/** Asks the service worker to send the queue when the network returns (where supported). */
export async function registerBackgroundSync(): Promise<boolean> {
  try {
    const registration = await navigator.serviceWorker?.getRegistration();
    const sync = (registration as (ServiceWorkerRegistration & { sync?: { register(tag: string): Promise<void> } }) | undefined)?.sync;
    if (!sync) return false;
    await sync.register(UPLOAD_SYNC_TAG);
    return true;
  } catch {
    return false;
  }
}

export class UploadRunner {
  private entries: QueueRecord[] = [];
  private readonly progress = new Map<string, TransferProgress>();
  private readonly active = new Map<string, ChunkTransfer>();
  private readonly deferred = new Set<string>();
  private readonly elsewhere = new Set<string>();
  private toasts: Toast[] = [];
  private toastSeq = 0;
  private readonly listeners = new Set<() => void>();
  private snapshot: QueueSnapshot = {
    entries: [],
    overall: { totalBytes: 0, doneBytes: 0, bytesPerSecond: 0, etaSeconds: null, active: 0 },
    toasts: [],
    loaded: false,
  };
  private draining: Promise<void> | null = null;
  private drainAgain = false;
  private emitTimer: ReturnType<typeof setTimeout> | null = null;
  private retryTimer: ReturnType<typeof setTimeout> | null = null;
  private users = 0;
  private stopListening: (() => void) | null = null;
  ownerId: string | null = null;
  /** Chunks in flight per upload (tunable for benchmarks). */
  concurrency = 4;

  // --- React binding -------------------------------------------------------------------

  subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  getSnapshot = (): QueueSnapshot => this.snapshot;

  /** Starts the runner for this user (idempotent; returns a stop function). */
  start(ownerId: string | null): () => void {
    this.ownerId = ownerId;
    this.users += 1;
    if (this.users === 1) {
      const onOnline = () => {
        this.deferred.clear();
        this.kick();
      };
      window.addEventListener('online', onOnline);
      const unsubscribe = subscribeQueueEvents((event) => {
        if (event.type === 'progress' && this.active.has(event.id)) return; // ours: already shown
        void this.refresh();
        if (event.type === 'completed' && !this.active.has(event.id)) {
          this.toast('success', 'A queued upload finished in the background.');
        }
      });
      this.stopListening = () => {
        window.removeEventListener('online', onOnline);
        unsubscribe();
      };
      void pruneFinished(KEEP_FINISHED_MS).finally(() => this.kick());
    } else {
      this.kick();
    }
    return () => {
      this.users -= 1;
      if (this.users === 0) {
        this.stopListening?.();
        this.stopListening = null;
      }
    };
  }

  // --- actions -------------------------------------------------------------------------

  /** Saves the study in IndexedDB first, then sends it when possible. */
  async enqueue(input: Omit<EnqueueInput, 'ownerId'>): Promise<QueueRecord> {
    const record = await enqueue({ ...input, ownerId: this.ownerId });
    await this.refresh();
    if (!online()) {
      void registerBackgroundSync();
      this.toast('info', 'Saved on this device. It will be sent when you are back online.');
    }
    this.kick();
    return record;
  }

  pause(id: string): void {
    const transfer = this.active.get(id);
    if (transfer) transfer.pause();
    else void updateEntry(id, { state: 'paused' }).then(() => this.refresh());
  }

  async resume(id: string): Promise<void> {
    const entry = await getEntry(id);
    if (!entry) return;
    await updateEntry(id, { state: entry.server ? 'uploading' : 'pending', error: undefined });
    this.deferred.delete(id);
    await this.refresh();
    this.kick();
  }

  /**
   * Stops the transfer, asks the server to delete what it holds (best effort: offline, or
   * if the server refuses, its copy expires by itself) and forgets the upload here.
   */
  async cancel(id: string): Promise<void> {
    this.active.get(id)?.cancel();
    this.active.delete(id);
    this.progress.delete(id);
    const entry = await getEntry(id);
    if (entry?.server && entry.state !== 'completed') {
      const api = new TransferApi({
        baseUrl: '',
        uploadId: entry.server.uploadId,
        uploadToken: entry.server.uploadToken,
      });
      await api.cancel().catch(() => undefined);
    }
    await deleteEntry(id);
    await this.refresh();
  }

  /** After a duplicate warning: init again with force_upload. */
  async sendAnyway(id: string): Promise<void> {
    await updateEntry(id, { state: 'pending', forceUpload: true, duplicateOf: undefined, error: undefined });
    this.deferred.delete(id);
    await this.refresh();
    this.kick();
  }

  /** A failed upload: start again (from init when the server's copy is gone). */
  async retry(id: string): Promise<void> {
    const entry = await getEntry(id);
    if (!entry) return;
    const gone = entry.error?.status === 404 || entry.error?.status === 410;
    await updateEntry(id, {
      state: entry.server && !gone ? 'uploading' : 'pending',
      server: gone ? undefined : entry.server,
      error: undefined,
    });
    this.deferred.delete(id);
    await this.refresh();
    this.kick();
  }

  async dismiss(id: string): Promise<void> {
    await deleteEntry(id);
    await this.refresh();
  }

  dismissToast(id: number): void {
    this.toasts = this.toasts.filter((t) => t.id !== id);
    this.emit();
  }

  /** Send what can be sent now (no-op while offline). */
  kick(): void {
    if (this.draining) {
      this.drainAgain = true;
      return;
    }
    this.draining = (async () => {
      try {
        do {
          this.drainAgain = false;
          await this.refresh();
          await this.drain();
        } while (this.drainAgain);
      } finally {
        this.draining = null;
      }
    })();
  }

  /** Resolves once the current drain (if any) is over. */
  async idle(): Promise<void> {
    while (this.draining) await this.draining;
  }

  // --- the work ------------------------------------------------------------------------

  private mine(entry: QueueRecord): boolean {
    return entry.ownerId === null || this.ownerId === null || entry.ownerId === this.ownerId;
  }

  private async drain(): Promise<void> {
    for (;;) {
      // Offline, or no upload page open any more (the service worker takes over then).
      if (!online() || this.users === 0) return;
      const next = (await listEntries()).find(
        (e) =>
          (e.state === 'pending' || e.state === 'uploading') && this.mine(e) && !this.deferred.has(e.id),
      );
      if (!next) return;
      if (next.state === 'pending') {
        // Under the upload's lock: the service worker may be initialising it right now.
        const locked = await withUploadLock(next.id, async () => {
          const current = await getEntry(next.id);
          return current?.state === 'pending' ? this.initialise(current) : current?.state === 'uploading';
        });
        if (!locked.acquired) {
          this.defer(next.id);
          continue;
        }
        if (!locked.value) continue;
      }
      await this.send(next.id);
    }
  }

  private async initialise(entry: QueueRecord): Promise<boolean> {
    try {
      // Duplicate detection follows the preference the server holds: send a change made offline first.
      if (this.ownerId) await flushPending(this.ownerId).catch(() => undefined);
      const created = await initUpload({
        ...entry.metadata,
        notes: entry.metadata.notes || undefined,
        files: entry.files,
        force_upload: entry.forceUpload,
        ...(entry.chunkSize ? { chunk_size: entry.chunkSize } : {}),
      });
      await updateEntry(entry.id, { state: 'uploading', server: serverUpload(created), error: undefined });
      return true;
    } catch (error) {
      const status = errorStatus(error);
      const message = errorMessage(error);
      if (status === 409 && errorCode(error) === 'duplicate_study') {
        const body = (error as { response?: { data?: { error?: { duplicate_of?: Record<string, unknown> } } } })
          .response?.data?.error;
        await updateEntry(entry.id, { state: 'duplicate', duplicateOf: body?.duplicate_of ?? {}, error: undefined });
        this.toast('error', 'This study looks like one uploaded recently. Check it, then "Send anyway" or discard it.');
      } else if (status === null || status >= 500 || status === 401 || status === 429) {
        // Offline, server trouble or signed out: keep it queued and try later.
        await updateEntry(entry.id, { error: { code: 'init_deferred', message } });
        this.defer(entry.id);
      } else {
        await updateEntry(entry.id, {
          state: 'failed',
          error: { code: errorCode(error) ?? 'init_failed', message, status },
        });
        this.toast('error', `Upload refused: ${message}`);
      }
      await this.refresh();
      return false;
    }
  }

  private async send(id: string): Promise<void> {
    // Sent elsewhere right now: wait for its lock (then nothing may be left to do).
    if (await isUploadLocked(id)) {
      this.elsewhere.add(id);
      this.emit();
    }
    const result = await sendEntry(id, {
      waitForLock: true,
      concurrency: this.concurrency,
      onStart: (transfer) => {
        this.elsewhere.delete(id);
        this.active.set(id, transfer);
        this.emit();
      },
      onProgress: (progress) => {
        this.progress.set(id, progress);
        this.emitSoon();
      },
    });
    this.active.delete(id);
    this.elsewhere.delete(id);
    switch (result.kind) {
      case 'completed':
        this.progress.delete(id);
        this.toast('success', 'Upload complete: the study was received and is on its way to PACS.');
        break;
      case 'failed':
        this.toast('error', `Upload failed: ${result.message}`);
        break;
      case 'retry-later':
        this.defer(id);
        if (result.reason === 'offline') void registerBackgroundSync();
        break;
      case 'busy':
        this.defer(id);
        break;
      default:
        break;
    }
    await this.refresh();
  }

  private defer(id: string): void {
    this.deferred.add(id);
    if (this.retryTimer) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      this.deferred.clear();
      this.kick();
    }, RETRY_LATER_MS);
  }

  // --- state for the UI -----------------------------------------------------------------

  async refresh(): Promise<void> {
    this.entries = (await listEntries()).filter((e) => this.mine(e));
    this.emit();
  }

  toast(kind: Toast['kind'], message: string): void {
    this.toastSeq += 1;
    this.toasts = [...this.toasts.slice(-3), { id: this.toastSeq, kind, message }];
    this.emit();
  }

  private emitSoon(): void {
    if (this.emitTimer) return;
    this.emitTimer = setTimeout(() => {
      this.emitTimer = null;
      this.emit();
    }, EMIT_INTERVAL_MS);
  }

  private emit(): void {
    const entries = this.entries.map((entry) => ({
      entry,
      progress: this.progress.get(entry.id) ?? null,
      sending: this.active.has(entry.id),
      elsewhere: this.elsewhere.has(entry.id),
    }));
    const unfinished = entries.filter((v) => v.entry.state !== 'completed' && v.entry.state !== 'failed');
    const totalBytes = unfinished.reduce((s, v) => s + v.entry.totalBytes, 0);
    const doneBytes = unfinished.reduce(
      (s, v) => s + (v.progress?.doneBytes ?? v.entry.doneBytes ?? 0),
      0,
    );
    const bytesPerSecond = entries.reduce((s, v) => s + (v.sending ? (v.progress?.bytesPerSecond ?? 0) : 0), 0);
    this.snapshot = {
      entries,
      overall: {
        totalBytes,
        doneBytes,
        bytesPerSecond,
        etaSeconds: bytesPerSecond > 0 ? (totalBytes - doneBytes) / bytesPerSecond : null,
        active: this.active.size,
      },
      toasts: this.toasts,
      loaded: true,
    };
    this.listeners.forEach((listener) => listener());
  }
}

/** The page's one runner. */
export const uploadRunner = new UploadRunner();
