import { File as NodeFile } from 'node:buffer';

import { beforeEach, describe, expect, it } from 'vitest';

import { db } from '@/lib/db';
import { drainQueue } from '@/lib/upload/background';
import { enqueue, getEntry } from '@/lib/upload/queue-store';
import { FakeUploadServer, makeFile } from '@/lib/upload/testing/fake-upload-server';
import type { StudyMetadata } from '@/lib/upload/types';

const META: StudyMetadata = {
  patient_name: 'DOE^JANE',
  study_date: '2026-01-15',
  modality: 'CT',
  service_level: 'ROUTINE',
  notes: null,
};

async function nodeFile(size: number): Promise<File> {
  return new NodeFile([new Uint8Array(await makeFile(size).arrayBuffer())], 'ct.dcm') as unknown as File;
}

/** The upload endpoints plus refresh and init, as the service worker sees them. */
function gateway(sizes: number[], initStatus = 201) {
  const upload = new FakeUploadServer({ sizes, chunkSize: 1000 });
  const calls: { path: string; auth: string | null; body: unknown }[] = [];
  const fetchImpl = async (input: RequestInfo | URL, init: RequestInit = {}) => {
    const url = new URL(String(input), 'http://gateway.test');
    const headers = new Headers(init.headers);
    if (url.pathname === '/api/auth/refresh') {
      calls.push({ path: url.pathname, auth: null, body: JSON.parse(String(init.body)) });
      return Response.json({
        access_token: 'access-2',
        refresh_token: 'refresh-2-rotated',
        token_type: 'bearer',
        expires_in: 3600,
        refresh_expires_at: '2030-01-01T00:00:00Z',
      });
    }
    if (url.pathname === '/api/upload/init') {
      const body = JSON.parse(String(init.body));
      calls.push({ path: url.pathname, auth: headers.get('Authorization'), body });
      if (initStatus === 409) {
        return Response.json(
          { error: { code: 'duplicate_study', message: 'dup', duplicate_of: { upload_id: 'old' } } },
          { status: 409 },
        );
      }
      return Response.json(
        {
          upload_id: 'u1',
          upload_token: upload.token,
          chunk_size: 1000,
          expires_at: '2030-01-01T00:00:00Z',
          files: sizes.map((size, index) => ({ index, name: 'ct.dcm', size, total_chunks: Math.ceil(size / 1000) })),
        },
        { status: 201 },
      );
    }
    return upload.fetch(input, init);
  };
  return { upload, calls, fetchImpl: fetchImpl as typeof fetch };
}

beforeEach(async () => {
  await Promise.all([db.queue.clear(), db.blobs.clear(), db.auth.clear()]);
  await db.auth.put({
    key: 'refresh',
    value: { token: 'refresh-1', expiresAt: '2030-01-01T00:00:00Z' },
    updatedAt: Date.now(),
  });
  await db.auth.put({ key: 'me', value: { id: 'user-1' }, updatedAt: Date.now() });
});

describe('drainQueue (Background Sync)', () => {
  it('initialises a study queued offline with the stored session, sends it, and rotates the refresh token', async () => {
    const entry = await enqueue({ metadata: META, files: [await nodeFile(2500)], ownerId: 'user-1' });
    const { upload, calls, fetchImpl } = gateway([2500]);
    await drainQueue({ baseUrl: '', fetchImpl, isOnline: () => true });
    expect(calls.map((c) => c.path)).toEqual(['/api/auth/refresh', '/api/upload/init']);
    expect(calls[0]!.body).toEqual({ refresh_token: 'refresh-1' });
    expect(calls[1]!.auth).toBe('Bearer access-2');
    expect(calls[1]!.body).toMatchObject({ patient_name: 'DOE^JANE', files: [{ name: 'ct.dcm', size: 2500 }] });
    expect(upload.stored.size).toBe(3);
    expect((await getEntry(entry.id))!.state).toBe('completed');
    expect((await db.auth.get('refresh'))!.value).toEqual({
      token: 'refresh-2-rotated',
      expiresAt: '2030-01-01T00:00:00Z',
    });
  });

  it('leaves another user’s queued study alone', async () => {
    const entry = await enqueue({ metadata: META, files: [await nodeFile(10)], ownerId: 'someone-else' });
    const { calls, fetchImpl } = gateway([10]);
    await drainQueue({ baseUrl: '', fetchImpl, isOnline: () => true });
    expect(calls.map((c) => c.path)).toEqual(['/api/auth/refresh']);
    expect((await getEntry(entry.id))!.state).toBe('pending');
  });

  it('marks a duplicate for the user to decide, and sends nothing', async () => {
    const entry = await enqueue({ metadata: META, files: [await nodeFile(10)], ownerId: 'user-1' });
    const { upload, fetchImpl } = gateway([10], 409);
    await drainQueue({ baseUrl: '', fetchImpl, isOnline: () => true });
    expect(await getEntry(entry.id)).toMatchObject({ state: 'duplicate', duplicateOf: { upload_id: 'old' } });
    expect(upload.chunkRequests).toHaveLength(0);
  });

  it('waits (throws, so the browser retries the sync) when signed out', async () => {
    await db.auth.delete('refresh');
    await enqueue({ metadata: META, files: [await nodeFile(10)], ownerId: 'user-1' });
    const { fetchImpl, calls } = gateway([10]);
    await expect(drainQueue({ baseUrl: '', fetchImpl, isOnline: () => true })).rejects.toThrow(/will retry/);
    expect(calls).toHaveLength(0);
  });
});
