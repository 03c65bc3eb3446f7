/** An in-memory stand-in for the chunk/status/complete endpoints, for unit tests (a fetch). */
import { createHash } from 'node:crypto';

export interface FakeServerOptions {
  sizes: number[];
  chunkSize: number;
  token?: string;
  /** Chunks already stored, as "file:index". */
  stored?: Iterable<string>;
  /** Called before every chunk PUT; return a Response to answer instead (errors, delays). */
  intercept?: (
    file: number,
    index: number,
    attempt: number,
  ) => Response | Error | undefined | Promise<Response | Error | undefined>;
}

export interface ChunkRequest {
  file: number;
  index: number;
  md5: string | null;
  bytes: number;
}

export class FakeUploadServer {
  readonly stored = new Map<string, string>();
  readonly chunkRequests: ChunkRequest[] = [];
  readonly attempts = new Map<string, number>();
  state = 'uploading';
  completeCalls = 0;
  statusCalls = 0;
  inFlight = 0;
  maxInFlight = 0;
  readonly token: string;

  constructor(private readonly options: FakeServerOptions) {
    this.token = options.token ?? 'upload-token';
    for (const key of options.stored ?? []) this.stored.set(key, 'preloaded');
  }

  totalChunks(file: number): number {
    return Math.max(1, Math.ceil(this.options.sizes[file]! / this.options.chunkSize));
  }

  missing(file: number): number[] {
    const out = [];
    for (let i = 0; i < this.totalChunks(file); i += 1) if (!this.stored.has(`${file}:${i}`)) out.push(i);
    return out;
  }

  private json(status: number, body: unknown): Response {
    return new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } });
  }

  fetch = async (input: RequestInfo | URL, init: RequestInit = {}): Promise<Response> => {
    const url = new URL(String(input), 'http://gateway.test');
    const headers = new Headers(init.headers);
    if (headers.get('X-Upload-Token') !== this.token) {
      return this.json(404, { error: { code: 'upload_not_found', message: 'No such upload' } });
    }
    if (init.signal?.aborted) throw new DOMException('aborted', 'AbortError');
    if (url.pathname.endsWith('/status')) {
      this.statusCalls += 1;
      return this.json(200, {
        upload_id: 'u1',
        state: this.state,
        expires_at: '2030-01-01T00:00:00Z',
        files: this.options.sizes.map((_, index) => ({
          index,
          total_chunks: this.totalChunks(index),
          received: this.totalChunks(index) - this.missing(index).length,
          missing: this.missing(index),
        })),
      });
    }
    if (url.pathname.endsWith('/complete')) {
      this.completeCalls += 1;
      const missing = this.options.sizes.flatMap((_, f) => this.missing(f).map((i) => ({ file: f, index: i })));
      if (missing.length > 0) {
        return this.json(409, { error: { code: 'upload_incomplete', message: 'Missing chunks', missing } });
      }
      this.state = 'queued';
      return this.json(202, {
        upload_id: 'u1',
        state: 'queued',
        study_instance_uid: '1.2.3',
        instances: this.options.sizes.length,
        warnings: [],
        skipped_files: [],
      });
    }
    if (url.pathname.endsWith('/chunk')) {
      const file = Number(url.searchParams.get('file'));
      const index = Number(url.searchParams.get('index'));
      const key = `${file}:${index}`;
      const attempt = (this.attempts.get(key) ?? 0) + 1;
      this.attempts.set(key, attempt);
      const raw = init.body as Blob | ArrayBuffer;
      const body = new Uint8Array(raw instanceof ArrayBuffer ? raw : await raw.arrayBuffer());
      const md5 = headers.get('Content-MD5');
      this.chunkRequests.push({ file, index, md5, bytes: body.byteLength });
      this.inFlight += 1;
      this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
      try {
        // Let other workers start their requests, as a network would.
        await new Promise((r) => setTimeout(r, 1));
        const intercepted = await this.options.intercept?.(file, index, attempt);
        if (intercepted instanceof Error) throw intercepted;
        if (intercepted) return intercepted;
        if (this.state !== 'uploading') {
          return this.json(409, { error: { code: 'upload_completed', message: 'complete' } });
        }
        const expected = createHash('md5').update(body).digest('base64');
        if (md5 !== expected) {
          return this.json(400, { error: { code: 'checksum_mismatch', message: 'bad md5' } });
        }
        const start = index * this.options.chunkSize;
        const length = Math.min(this.options.chunkSize, this.options.sizes[file]! - start);
        if (body.byteLength !== length) {
          return this.json(400, { error: { code: 'wrong_chunk_size', message: 'size' } });
        }
        this.stored.set(key, expected);
        return this.json(200, { file, index, md5: expected });
      } finally {
        this.inFlight -= 1;
      }
    }
    return this.json(404, { error: { code: 'not_found', message: url.pathname } });
  };
}

/** Deterministic bytes: file f's byte i is (i * 31 + f) & 0xff. */
export function makeFile(size: number, seed = 0): Blob {
  const bytes = new Uint8Array(size);
  for (let i = 0; i < size; i += 1) bytes[i] = (i * 31 + seed) & 0xff;
  return new Blob([bytes]);
}
