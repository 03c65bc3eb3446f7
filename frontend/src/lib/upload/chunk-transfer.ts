/**
 * The transfer engine: sends the chunks the server is missing, several at once, each
 * read with Blob.slice and checksummed, retried with backoff; then completes the upload.
 * Plain TypeScript with fetch only, so the page and the service worker share it.
 */
import {
  DEFAULT_BACKOFF,
  backoffDelay,
  isRetryableStatus,
  retryAfterMs,
  sleep as defaultSleep,
  type BackoffPolicy,
} from '@/lib/upload/backoff';
import { planMissing, taskBytes, type ChunkTask } from '@/lib/upload/chunk-plan';
import { Md5 } from '@/lib/upload/content-md5';
import { TransferApi, TransferHttpError, TransferNetworkError } from '@/lib/upload/transfer-api';
import type { CompleteAccepted, UploadStatus } from '@/lib/upload/types';

export interface TransferJob {
  uploadId: string;
  uploadToken: string;
  chunkSize: number;
  /** Byte size of each file, by file index. */
  sizes: number[];
}

export interface TransferProgress {
  totalBytes: number;
  /** Bytes the server holds (acknowledged chunks, including those from earlier runs). */
  doneBytes: number;
  /** Bytes acknowledged by this run. */
  sentBytes: number;
  chunksSent: number;
  bytesPerSecond: number;
  /** Seconds left at the current speed, or null before there is a speed. */
  etaSeconds: number | null;
  phase: 'status' | 'sending' | 'completing';
}

export type TransferOutcome =
  | { kind: 'completed'; result: CompleteAccepted | null; serverState: string }
  | { kind: 'paused' }
  | { kind: 'cancelled' }
  /** Offline, or transient errors outlasted the retries: try again later, from status. */
  | { kind: 'retry-later'; reason: 'offline' | 'network'; message: string }
  /** The server refused for good (expired, not found, invalid DICOM, conflict). */
  | { kind: 'failed'; code: string; message: string; status: number; body: unknown };

export interface TransferOptions {
  getBlob: (file: number) => Promise<Blob>;
  baseUrl?: string;
  concurrency?: number;
  backoff?: BackoffPolicy;
  fetchImpl?: typeof fetch;
  onProgress?: (progress: TransferProgress) => void;
  onChunkSent?: (task: ChunkTask) => void;
  isOnline?: () => boolean;
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  random?: () => number;
  now?: () => number;
}

export const DEFAULT_CONCURRENCY = 4;
/** Checksum mismatches are retried (re-read, re-hashed) this many times at most. */
const CHECKSUM_RETRIES = 2;
const SPEED_WINDOW_MS = 5_000;

class OfflineError extends Error {
  constructor() {
    super('The device is offline.');
    this.name = 'OfflineError';
  }
}

/** The upload was completed meanwhile (e.g. by the service worker). */
class AlreadyCompleted extends Error {}

function navigatorOnline(): boolean {
  return typeof navigator === 'undefined' || navigator.onLine !== false;
}

function isAbortError(error: unknown): boolean {
  return (
    (error instanceof DOMException && error.name === 'AbortError') ||
    (error instanceof Error && error.name === 'AbortError')
  );
}

export class ChunkTransfer {
  private readonly api: TransferApi;
  private readonly controller = new AbortController();
  private stopReason: 'pause' | 'cancel' | null = null;
  private readonly backoff: BackoffPolicy;
  private readonly sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  private readonly now: () => number;
  private readonly samples: [number, number][] = [];
  private progress: TransferProgress;

  constructor(
    private readonly job: TransferJob,
    private readonly options: TransferOptions,
  ) {
    this.api = new TransferApi({
      baseUrl: options.baseUrl ?? '',
      uploadId: job.uploadId,
      uploadToken: job.uploadToken,
      fetchImpl: options.fetchImpl,
    });
    this.backoff = options.backoff ?? DEFAULT_BACKOFF;
    this.sleep = options.sleep ?? defaultSleep;
    this.now = options.now ?? (() => Date.now());
    const totalBytes = job.sizes.reduce((a, b) => a + b, 0);
    this.progress = {
      totalBytes,
      doneBytes: 0,
      sentBytes: 0,
      chunksSent: 0,
      bytesPerSecond: 0,
      etaSeconds: null,
      phase: 'status',
    };
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  /** Stop now; a later run() (a new ChunkTransfer) resumes from the server's status. */
  pause(): void {
    this.stop('pause');
  }

  /** Stop now and abandon the upload (the caller deletes the local entry). */
  cancel(): void {
    this.stop('cancel');
  }

  private stop(reason: 'pause' | 'cancel'): void {
    if (this.stopReason) return;
    this.stopReason = reason;
    this.controller.abort(new DOMException(`upload ${reason}d`, 'AbortError'));
  }

  async run(): Promise<TransferOutcome> {
    try {
      return await this.transfer();
    } catch (error) {
      return this.outcomeFor(error);
    }
  }

  private async transfer(): Promise<TransferOutcome> {
    const signal = this.controller.signal;
    let status = await this.withRetry(() => this.api.status(signal));
    for (let round = 0; ; round += 1) {
      if (status.state !== 'uploading') {
        if (status.state === 'expired') {
          return this.failed(410, 'upload_expired', 'The upload expired before it was sent.');
        }
        // Completed already (by another tab or the service worker): nothing to send.
        return { kind: 'completed', result: null, serverState: status.state };
      }
      const tasks = planMissing(status, this.job.sizes, this.job.chunkSize);
      this.startSending(tasks);
      try {
        await this.sendAll(tasks);
      } catch (error) {
        if (!(error instanceof AlreadyCompleted)) throw error;
      }
      this.update({ phase: 'completing' });
      try {
        const result = await this.withRetry(() => this.api.complete(signal));
        this.update({ doneBytes: this.progress.totalBytes, etaSeconds: 0 });
        return { kind: 'completed', result, serverState: result.state };
      } catch (error) {
        const incomplete =
          error instanceof TransferHttpError &&
          error.status === 409 &&
          error.code === 'upload_incomplete';
        if (!incomplete || round >= 2) throw error;
        status = await this.withRetry(() => this.api.status(signal));
      }
    }
  }

  private startSending(tasks: ChunkTask[]): void {
    const remaining = taskBytes(tasks);
    this.samples.length = 0;
    this.update({
      phase: 'sending',
      doneBytes: this.progress.totalBytes - remaining,
      etaSeconds: remaining === 0 ? 0 : null,
    });
    this.samples.push([this.now(), this.progress.doneBytes]);
  }

  private async sendAll(tasks: ChunkTask[]): Promise<void> {
    let next = 0;
    // A fatal error in one worker stops the others at once.
    const workers = new AbortController();
    const onStop = () => workers.abort(this.controller.signal.reason);
    this.controller.signal.addEventListener('abort', onStop, { once: true });
    const signal = workers.signal;
    const worker = async () => {
      const md5 = new Md5();
      while (next < tasks.length) {
        if (signal.aborted) throw signal.reason;
        const task = tasks[next]!;
        next += 1;
        await this.withRetry(() => this.sendChunk(task, md5, signal), signal);
        this.acknowledge(task);
      }
    };
    const count = Math.max(1, Math.min(this.options.concurrency ?? DEFAULT_CONCURRENCY, tasks.length));
    try {
      await Promise.all(
        Array.from({ length: count }, () =>
          worker().catch((error: unknown) => {
            if (!signal.aborted) workers.abort(error);
            throw error;
          }),
        ),
      );
    } catch {
      // Report the first cause, not the aborts it caused in the other workers.
      throw this.controller.signal.aborted ? this.controller.signal.reason : signal.reason;
    } finally {
      this.controller.signal.removeEventListener('abort', onStop);
    }
  }

  private async sendChunk(task: ChunkTask, md5: Md5, signal: AbortSignal): Promise<void> {
    const blob = await this.options.getBlob(task.file);
    const slice = blob.slice(task.start, task.end);
    // Only this chunk's bytes are ever in memory, and only while they are hashed.
    const checksum = await this.checksum(slice, task, md5);
    try {
      // The Blob slice, not the bytes just hashed, is the body: the browser streams it from
      // disk to the network without copying it through the page (several times faster in
      // Chromium). Bytes that changed meanwhile fail the server's MD5 check and are resent.
      await this.api.putChunk(task.file, task.index, slice, checksum, signal);
    } catch (error) {
      if (error instanceof TransferHttpError && error.code === 'upload_completed') {
        throw new AlreadyCompleted();
      }
      throw error;
    }
  }

  private async checksum(slice: Blob, task: ChunkTask, md5: Md5): Promise<string> {
    const data = await slice.arrayBuffer();
    if (data.byteLength !== task.end - task.start) {
      throw new Error(`file #${task.file} changed on disk while it was being sent`);
    }
    return md5.contentMd5(data);
  }

  private acknowledge(task: ChunkTask): void {
    const bytes = task.end - task.start;
    const now = this.now();
    const doneBytes = this.progress.doneBytes + bytes;
    this.samples.push([now, doneBytes]);
    while (this.samples.length > 2 && now - this.samples[0]![0] > SPEED_WINDOW_MS) {
      this.samples.shift();
    }
    const [t0, b0] = this.samples[0]!;
    const elapsed = (now - t0) / 1000;
    const bytesPerSecond = elapsed > 0 ? (doneBytes - b0) / elapsed : 0;
    const left = this.progress.totalBytes - doneBytes;
    this.update({
      doneBytes,
      sentBytes: this.progress.sentBytes + bytes,
      chunksSent: this.progress.chunksSent + 1,
      bytesPerSecond,
      etaSeconds: bytesPerSecond > 0 ? left / bytesPerSecond : null,
    });
    this.options.onChunkSent?.(task);
  }

  private update(changes: Partial<TransferProgress>): void {
    this.progress = { ...this.progress, ...changes };
    this.options.onProgress?.(this.progress);
  }

  /** fn, retried with backoff on network errors, 408, 429 and 5xx. */
  private async withRetry<T>(fn: () => Promise<T>, signal = this.controller.signal): Promise<T> {
    let checksumFailures = 0;
    for (let attempt = 1; ; attempt += 1) {
      if (signal.aborted) throw signal.reason;
      try {
        return await fn();
      } catch (error) {
        if (signal.aborted || isAbortError(error)) throw error;
        if (error instanceof TransferHttpError && error.code === 'checksum_mismatch') {
          checksumFailures += 1;
          if (checksumFailures > CHECKSUM_RETRIES) throw error;
          continue;
        }
        const status =
          error instanceof TransferHttpError || error instanceof TransferNetworkError
            ? error.status
            : -1;
        if (!isRetryableStatus(status)) throw error;
        if (status === 0 && !(this.options.isOnline ?? navigatorOnline)()) {
          throw new OfflineError();
        }
        if (attempt >= this.backoff.maxAttempts) throw error;
        const hinted =
          error instanceof TransferHttpError ? retryAfterMs(error.retryAfter) : undefined;
        const delay = Math.min(
          this.backoff.maxDelayMs,
          hinted ?? backoffDelay(attempt, this.backoff, this.options.random),
        );
        await this.sleep(delay, signal);
      }
    }
  }

  private failed(status: number, code: string, message: string, body: unknown = null): TransferOutcome {
    return { kind: 'failed', status, code, message, body };
  }

  private outcomeFor(error: unknown): TransferOutcome {
    if (this.stopReason === 'cancel') return { kind: 'cancelled' };
    if (this.stopReason === 'pause') return { kind: 'paused' };
    if (error instanceof OfflineError) {
      return { kind: 'retry-later', reason: 'offline', message: error.message };
    }
    if (error instanceof TransferNetworkError) {
      return { kind: 'retry-later', reason: 'network', message: error.message };
    }
    if (error instanceof TransferHttpError) {
      if (isRetryableStatus(error.status)) {
        return { kind: 'retry-later', reason: 'network', message: error.message };
      }
      return this.failed(error.status, error.code, error.message, error.body);
    }
    const message = error instanceof Error ? error.message : String(error);
    return this.failed(0, 'client_error', message);
  }
}

export type { ChunkTask, UploadStatus };
