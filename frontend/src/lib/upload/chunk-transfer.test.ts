import { describe, expect, it, vi } from 'vitest';

import { backoffDelay, DEFAULT_BACKOFF, retryAfterMs } from '@/lib/upload/backoff';
import { ChunkTransfer, type TransferOptions } from '@/lib/upload/chunk-transfer';
import { FakeUploadServer, makeFile } from '@/lib/upload/testing/fake-upload-server';

const CHUNK = 1000;

function setup(sizes: number[], options: Partial<ConstructorParameters<typeof FakeUploadServer>[0]> = {}) {
  const server = new FakeUploadServer({ sizes, chunkSize: CHUNK, ...options });
  const files = sizes.map((size, i) => makeFile(size, i));
  const sleeps: number[] = [];
  const transfer = (extra: Partial<TransferOptions> = {}) =>
    new ChunkTransfer(
      { uploadId: 'u1', uploadToken: server.token, chunkSize: CHUNK, sizes },
      {
        getBlob: async (i) => files[i]!,
        fetchImpl: server.fetch as typeof fetch,
        isOnline: () => true,
        sleep: async (ms) => {
          sleeps.push(ms);
        },
        random: () => 0.5,
        ...extra,
      },
    );
  return { server, files, sleeps, transfer };
}

describe('ChunkTransfer', () => {
  it('sends every chunk with its Content-MD5 and completes', async () => {
    const { server, transfer } = setup([2500, 1000, 10]);
    const outcome = await transfer().run();
    expect(outcome).toMatchObject({ kind: 'completed', serverState: 'queued' });
    expect(server.chunkRequests).toHaveLength(5);
    expect(server.stored.size).toBe(5);
    expect(server.chunkRequests.every((r) => r.md5 && atob(r.md5).length === 16)).toBe(true);
    expect(server.completeCalls).toBe(1);
  });

  it('resumes from status: sends only the chunks the server is missing', async () => {
    const { server, transfer } = setup([3000, 3000], { stored: ['0:0', '0:1', '1:2'] });
    const progress: number[] = [];
    const outcome = await transfer({ onProgress: (p) => progress.push(p.doneBytes) }).run();
    expect(outcome.kind).toBe('completed');
    expect(server.chunkRequests.map((r) => `${r.file}:${r.index}`).sort()).toEqual(['0:2', '1:0', '1:1']);
    expect(server.statusCalls).toBeGreaterThanOrEqual(1);
    // Progress starts from what the server already held, not from zero.
    expect(progress.find((b) => b > 0)).toBe(3000);
    expect(progress.at(-1)).toBe(6000);
  });

  it('has at most `concurrency` chunks in flight, and uses them', async () => {
    const { server, transfer } = setup([20_000]);
    await transfer({ concurrency: 4 }).run();
    expect(server.maxInFlight).toBe(4);
  });

  it('retries network errors, 5xx and 429 with exponential backoff, honouring Retry-After', async () => {
    const { server, sleeps, transfer } = setup([3000], {
      intercept: (_file, index, attempt) => {
        if (index === 0 && attempt <= 2) return new TypeError('Failed to fetch');
        if (index === 1 && attempt === 1) return new Response('{}', { status: 503 });
        if (index === 2 && attempt === 1) return new Response('{}', { status: 429, headers: { 'Retry-After': '3' } });
        return undefined;
      },
    });
    const outcome = await transfer({ concurrency: 1 }).run();
    expect(outcome.kind).toBe('completed');
    expect(server.attempts.get('0:0')).toBe(3);
    expect(server.attempts.get('0:1')).toBe(2);
    expect(sleeps).toEqual([
      backoffDelay(1, DEFAULT_BACKOFF, () => 0.5),
      backoffDelay(2, DEFAULT_BACKOFF, () => 0.5),
      backoffDelay(1, DEFAULT_BACKOFF, () => 0.5),
      3000,
    ]);
    expect(sleeps[1]!).toBeGreaterThan(sleeps[0]!);
  });

  it('gives up for now (retry-later) when transient errors outlast the attempts', async () => {
    const { transfer, server } = setup([1000], { intercept: () => new Response('{}', { status: 502 }) });
    const outcome = await transfer({ backoff: { maxAttempts: 3, baseDelayMs: 10, maxDelayMs: 100 } }).run();
    expect(outcome).toMatchObject({ kind: 'retry-later', reason: 'network' });
    expect(server.attempts.get('0:0')).toBe(3);
  });

  it('stops at once when the device is offline, without burning retries', async () => {
    let online = true;
    const { transfer, server, sleeps } = setup([5000], {
      intercept: (_f, index) => {
        if (index === 2) {
          online = false;
          return new TypeError('Failed to fetch');
        }
        return undefined;
      },
    });
    const outcome = await transfer({ concurrency: 1, isOnline: () => online }).run();
    expect(outcome).toMatchObject({ kind: 'retry-later', reason: 'offline' });
    expect(sleeps).toEqual([]);
    expect(server.attempts.get('0:2')).toBe(1);
  });

  it('does not retry a refusal (4xx): the upload fails with the server code', async () => {
    const { transfer } = setup([1000], {
      intercept: () =>
        new Response(JSON.stringify({ error: { code: 'upload_expired', message: 'The upload expired' } }), {
          status: 410,
        }),
    });
    expect(await transfer().run()).toMatchObject({ kind: 'failed', status: 410, code: 'upload_expired' });
  });

  it('pauses (aborting in-flight requests); a new run resumes without resending stored chunks', async () => {
    let pauseNow: () => void = () => undefined;
    let sent = 0;
    const { server, transfer } = setup([10_000], {
      intercept: () => {
        sent += 1;
        if (sent === 4) pauseNow();
        return undefined;
      },
    });
    const first = transfer({ concurrency: 2 });
    pauseNow = () => first.pause();
    expect(await first.run()).toEqual({ kind: 'paused' });
    const storedAfterPause = server.stored.size;
    expect(storedAfterPause).toBeLessThan(10);
    const requestsBefore = server.chunkRequests.length;

    const second = await transfer({ concurrency: 2 }).run();
    expect(second.kind).toBe('completed');
    const resent = server.chunkRequests.slice(requestsBefore).map((r) => `${r.file}:${r.index}`);
    expect(resent).toHaveLength(10 - storedAfterPause);
    expect(server.stored.size).toBe(10);
  });

  it('cancel aborts and reports cancelled', async () => {
    let cancelNow: () => void = () => undefined;
    const { transfer, server } = setup([10_000], {
      intercept: (_f, index) => {
        if (index === 1) cancelNow();
        return undefined;
      },
    });
    const t = transfer({ concurrency: 1 });
    cancelNow = () => t.cancel();
    expect(await t.run()).toEqual({ kind: 'cancelled' });
    expect(server.completeCalls).toBe(0);
    expect(server.chunkRequests.length).toBeLessThan(10);
  });

  it('re-reads and resends a chunk the server rejected as checksum_mismatch', async () => {
    const { transfer, server } = setup([2000], {
      intercept: (_f, index, attempt) =>
        index === 1 && attempt === 1
          ? new Response(JSON.stringify({ error: { code: 'checksum_mismatch', message: 'x' } }), { status: 400 })
          : undefined,
    });
    expect((await transfer().run()).kind).toBe('completed');
    expect(server.attempts.get('0:1')).toBe(2);
  });

  it('sends what complete reports missing (409 upload_incomplete), then completes', async () => {
    let dropped = false;
    const { transfer, server } = setup([3000]);
    const fetchImpl = async (input: RequestInfo | URL, init?: RequestInit) => {
      const response = await server.fetch(input, init);
      if (!dropped && String(input).includes('/chunk') && String(input).includes('index=1')) {
        dropped = true;
        server.stored.delete('0:1'); // acknowledged, then lost (e.g. storage hiccup)
      }
      return response;
    };
    const outcome = await transfer({ fetchImpl: fetchImpl as typeof fetch }).run();
    expect(outcome.kind).toBe('completed');
    expect(server.completeCalls).toBe(2);
    expect(server.attempts.get('0:1')).toBe(2);
  });

  it('treats an upload already completed elsewhere as done', async () => {
    const { transfer, server } = setup([1000]);
    server.state = 'forwarded';
    expect(await transfer().run()).toMatchObject({ kind: 'completed', serverState: 'forwarded' });
    expect(server.chunkRequests).toHaveLength(0);
  });

  it('reads each chunk with Blob.slice, never the whole file', async () => {
    const { transfer, files } = setup([5000]);
    const slice = vi.spyOn(files[0]!, 'slice');
    const arrayBuffer = vi.spyOn(files[0]!, 'arrayBuffer');
    await transfer().run();
    expect(slice).toHaveBeenCalledTimes(5);
    expect(slice.mock.calls.every(([s, e]) => (e as number) - (s as number) <= CHUNK)).toBe(true);
    expect(arrayBuffer).not.toHaveBeenCalled();
  });

  it('reports speed and time remaining', async () => {
    let now = 0;
    const { transfer } = setup([4000], {
      intercept: () => {
        now += 1000;
        return undefined;
      },
    });
    const seen: { speed: number; eta: number | null }[] = [];
    await transfer({
      concurrency: 1,
      now: () => now,
      onProgress: (p) => seen.push({ speed: p.bytesPerSecond, eta: p.etaSeconds }),
    }).run();
    const mid = seen.find((s) => s.speed > 0 && s.eta !== null && s.eta > 0)!;
    expect(mid.speed).toBeCloseTo(1000, 0);
    expect(mid.eta).toBeCloseTo(3, 0);
  });
});

describe('backoff', () => {
  it('grows exponentially up to the cap, with jitter inside [ceiling/2, ceiling]', () => {
    const policy = { maxAttempts: 10, baseDelayMs: 100, maxDelayMs: 1000 };
    expect(backoffDelay(1, policy, () => 0)).toBe(50);
    expect(backoffDelay(1, policy, () => 1)).toBe(100);
    expect(backoffDelay(3, policy, () => 1)).toBe(400);
    expect(backoffDelay(9, policy, () => 1)).toBe(1000);
  });

  it('parses Retry-After in seconds and as a date', () => {
    expect(retryAfterMs('2')).toBe(2000);
    expect(retryAfterMs(new Date(10_000).toUTCString(), 4_000)).toBe(6000);
    expect(retryAfterMs(null)).toBeUndefined();
  });
});
