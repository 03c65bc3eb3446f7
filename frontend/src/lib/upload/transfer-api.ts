/**
 * Chunk, status and complete over plain fetch with the upload's X-Upload-Token: no access
 * token and no Axios, so the same code runs in the page and in the service worker.
 */
import type { CompleteAccepted, UploadStatus } from '@/lib/upload/types';

export class TransferHttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly body: unknown,
    readonly retryAfter: string | null = null,
  ) {
    super(message);
    this.name = 'TransferHttpError';
  }
}

/** fetch itself failed (offline, connection reset, DNS): status 0. */
export class TransferNetworkError extends Error {
  readonly status = 0;
  constructor(cause: unknown) {
    super(cause instanceof Error ? cause.message : 'network error');
    this.name = 'TransferNetworkError';
  }
}

export interface TransferApiOptions {
  /** '' for same-origin requests from the page; the SW passes its origin. */
  baseUrl: string;
  uploadId: string;
  uploadToken: string;
  fetchImpl?: typeof fetch;
}

function isAbort(error: unknown): boolean {
  return error instanceof DOMException && error.name === 'AbortError';
}

export class TransferApi {
  private readonly fetchImpl: typeof fetch;

  constructor(private readonly options: TransferApiOptions) {
    // Bound: calling an unbound window.fetch throws "Illegal invocation".
    this.fetchImpl = options.fetchImpl ?? fetch.bind(globalThis);
  }

  private url(path: string): string {
    return `${this.options.baseUrl}/api/upload/${encodeURIComponent(this.options.uploadId)}${path}`;
  }

  private async request(path: string, init: RequestInit): Promise<Response> {
    let response: Response;
    try {
      response = await this.fetchImpl(this.url(path), {
        ...init,
        headers: { 'X-Upload-Token': this.options.uploadToken, ...init.headers },
        credentials: 'omit',
        cache: 'no-store',
      });
    } catch (error) {
      if (isAbort(error) || init.signal?.aborted) throw error;
      throw new TransferNetworkError(error);
    }
    if (response.ok) return response;
    let body: unknown;
    try {
      body = await response.json();
    } catch {
      body = null;
    }
    const err = (body as { error?: { code?: string; message?: string } } | null)?.error;
    throw new TransferHttpError(
      response.status,
      err?.code ?? `http_${response.status}`,
      err?.message ?? `HTTP ${response.status}`,
      body,
      response.headers.get('Retry-After'),
    );
  }

  async putChunk(
    file: number,
    index: number,
    body: Blob | ArrayBuffer | Uint8Array,
    md5: string,
    signal?: AbortSignal,
  ): Promise<void> {
    const response = await this.request(`/chunk?file=${file}&index=${index}`, {
      method: 'PUT',
      body: body as BodyInit,
      headers: { 'Content-MD5': md5, 'Content-Type': 'application/octet-stream' },
      signal,
    });
    // Drain the small JSON ack so the connection is reused.
    await response.arrayBuffer();
  }

  async status(signal?: AbortSignal): Promise<UploadStatus> {
    const response = await this.request('/status', { method: 'GET', signal });
    return (await response.json()) as UploadStatus;
  }

  /** Cancel an upload in progress: the server deletes what it holds now. */
  async cancel(signal?: AbortSignal): Promise<void> {
    await this.request('', { method: 'DELETE', signal });
  }

  async complete(signal?: AbortSignal): Promise<CompleteAccepted> {
    const response = await this.request('/complete', { method: 'POST', signal });
    return (await response.json()) as CompleteAccepted;
  }
}
