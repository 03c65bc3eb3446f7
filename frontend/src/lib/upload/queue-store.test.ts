import { File as NodeFile } from 'node:buffer';

import { beforeEach, describe, expect, it } from 'vitest';

import { db, RelayDatabase } from '@/lib/db';
import { drainQueue, sendEntry } from '@/lib/upload/background';
import {
  countBlobs,
  deleteEntry,
  enqueue,
  getBlob,
  getEntry,
  listEntries,
  serverUpload,
  updateEntry,
} from '@/lib/upload/queue-store';
import { FakeUploadServer, makeFile } from '@/lib/upload/testing/fake-upload-server';
import type { StudyMetadata } from '@/lib/upload/types';

const META: StudyMetadata = {
  patient_name: 'DOE^JANE',
  study_date: '2026-01-15',
  modality: 'CT',
  service_level: 'ROUTINE',
  notes: null,
};

// Node's File: fake-indexeddb stores values with Node's structuredClone, which keeps Node
// Blobs (as a browser keeps its own) but not jsdom's.
async function files(sizes: number[]): Promise<File[]> {
  return Promise.all(
    sizes.map(
      async (size, i) =>
        new NodeFile([new Uint8Array(await makeFile(size, i).arrayBuffer())], `ct_${i}.dcm`) as unknown as File,
    ),
  );
}

async function initialised(sizes: number[], server: FakeUploadServer) {
  const entry = await enqueue({ metadata: META, files: await files(sizes), ownerId: 'user-1' });
  await updateEntry(entry.id, {
    state: 'uploading',
    server: serverUpload({
      upload_id: 'u1',
      upload_token: server.token,
      chunk_size: 1000,
      expires_at: '2030-01-01T00:00:00Z',
      files: sizes.map((size, index) => ({ index, name: `ct_${index}.dcm`, size, total_chunks: Math.ceil(size / 1000) })),
    }),
  });
  return entry;
}

beforeEach(async () => {
  await db.queue.clear();
  await db.blobs.clear();
});

describe('offline queue (IndexedDB)', () => {
  it('persists the entry and every file Blob, readable from a fresh connection', async () => {
    const entry = await enqueue({ metadata: META, files: await files([1500, 20]), ownerId: 'user-1' });
    // A new connection to the same database: what a reload or the service worker sees.
    const other = new RelayDatabase();
    const stored = await other.queue.get(entry.id);
    expect(stored).toMatchObject({
      state: 'pending',
      ownerId: 'user-1',
      metadata: META,
      files: [
        { name: 'ct_0.dcm', size: 1500 },
        { name: 'ct_1.dcm', size: 20 },
      ],
      totalBytes: 1520,
      forceUpload: false,
    });
    const blob = (await other.blobs.get([entry.id, 0]))!.blob;
    expect(blob.size).toBe(1500);
    expect(new Uint8Array(await blob.slice(0, 3).arrayBuffer())).toEqual(new Uint8Array([0, 31, 62]));
    other.close();
  });

  it('lists entries oldest first and deletes an entry with its Blobs', async () => {
    const a = await enqueue({ metadata: META, files: await files([10]), ownerId: null });
    const b = await enqueue({ metadata: { ...META, modality: 'MR' }, files: await files([10, 10]), ownerId: null });
    expect((await listEntries()).map((e) => e.id)).toEqual([a.id, b.id]);
    await deleteEntry(b.id);
    expect(await getEntry(b.id)).toBeUndefined();
    expect(await countBlobs(b.id)).toBe(0);
    expect(await countBlobs(a.id)).toBe(1);
  });

  it('sends an initialised entry, then deletes its Blobs and records the result', async () => {
    const server = new FakeUploadServer({ sizes: [2500, 300], chunkSize: 1000 });
    const entry = await initialised([2500, 300], server);
    const result = await sendEntry(entry.id, { fetchImpl: server.fetch as typeof fetch, isOnline: () => true });
    expect(result.kind).toBe('completed');
    expect(server.stored.size).toBe(4);
    const done = await getEntry(entry.id);
    expect(done).toMatchObject({ state: 'completed', result: { serverState: 'queued', instances: 2 } });
    expect(await countBlobs(entry.id)).toBe(0);
    await expect(getBlob(entry.id, 0)).rejects.toThrow(/no longer stored/);
  });

  it('keeps the entry and its Blobs when offline, to resume later', async () => {
    const server = new FakeUploadServer({
      sizes: [3000],
      chunkSize: 1000,
      intercept: (_f, index) => (index === 1 ? new TypeError('Failed to fetch') : undefined),
    });
    const entry = await initialised([3000], server);
    const result = await sendEntry(entry.id, {
      fetchImpl: server.fetch as typeof fetch,
      isOnline: () => false,
      concurrency: 1,
    });
    expect(result).toMatchObject({ kind: 'retry-later', reason: 'offline' });
    expect(await getEntry(entry.id)).toMatchObject({ state: 'uploading' });
    expect(await countBlobs(entry.id)).toBe(1);
  });

  it('lets only one sender work on an upload at a time', async () => {
    let release: () => void = () => undefined;
    const gate = new Promise<void>((r) => (release = r));
    const server = new FakeUploadServer({
      sizes: [2000],
      chunkSize: 1000,
      intercept: async () => {
        await gate;
        return undefined;
      },
    });
    const entry = await initialised([2000], server);
    const options = { fetchImpl: server.fetch as typeof fetch, isOnline: () => true };
    const first = sendEntry(entry.id, options);
    await new Promise((r) => setTimeout(r, 20));
    const second = await sendEntry(entry.id, options);
    expect(second.kind).toBe('busy');
    release();
    expect((await first).kind).toBe('completed');
    expect(server.chunkRequests).toHaveLength(2);
  });

  it('drainQueue sends initialised uploads, skips paused ones, and throws when some must wait', async () => {
    const server = new FakeUploadServer({ sizes: [1000], chunkSize: 1000 });
    const ready = await initialised([1000], server);
    const paused = await initialised([1000], server);
    await updateEntry(paused.id, { state: 'paused' });
    const pending = await enqueue({ metadata: META, files: await files([1000]), ownerId: null });
    await drainQueue({ fetchImpl: server.fetch as typeof fetch, isOnline: () => true, initialise: false });
    expect((await getEntry(ready.id))!.state).toBe('completed');
    expect((await getEntry(paused.id))!.state).toBe('paused');
    expect((await getEntry(pending.id))!.state).toBe('pending');

    const offline = new FakeUploadServer({ sizes: [1000], chunkSize: 1000, intercept: () => new TypeError('x') });
    await initialised([1000], offline);
    await expect(
      drainQueue({ fetchImpl: offline.fetch as typeof fetch, isOnline: () => false, initialise: false }),
    ).rejects.toThrow(
      /will retry/,
    );
  });
});
