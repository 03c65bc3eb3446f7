/**
 * Initialising queued uploads without the page (Background Sync in the service worker): an
 * access token from the stored refresh token — the same IndexedDB row (`auth`/`refresh`) and
 * the same Web Lock (`relaypacs-auth-refresh`) as src/lib/api-client.ts, so the page and the
 * service worker never use a rotated-out refresh token — then POST /api/upload/init with fetch.
 */
import { db } from '@/lib/db';
import { publishQueueEvent } from '@/lib/upload/queue-events';
import type { QueueRecord } from '@/lib/upload/queue-types';
import { serverUpload, updateEntry } from '@/lib/upload/queue-store';
import type { UploadCreated } from '@/lib/upload/types';

// Keep in step with src/lib/api-client.ts and src/lib/auth.tsx.
const REFRESH_KEY = 'refresh';
const ME_KEY = 'me';
const REFRESH_LOCK = 'relaypacs-auth-refresh';

interface StoredRefresh {
  token: string;
  expiresAt: string;
}

export interface BackgroundSession {
  accessToken: string;
  userId: string | null;
}

/** A fresh access token for the signed-in user, or null (signed out, offline, refused). */
export async function backgroundSession(
  baseUrl: string,
  fetchImpl: typeof fetch = fetch.bind(globalThis),
): Promise<BackgroundSession | null> {
  const refresh = async (): Promise<BackgroundSession | null> => {
    const stored = (await db.auth.get(REFRESH_KEY))?.value as StoredRefresh | undefined;
    if (!stored?.token || Date.parse(stored.expiresAt) <= Date.now()) return null;
    const me = (await db.auth.get(ME_KEY))?.value as { id?: string } | undefined;
    let response: Response;
    try {
      response = await fetchImpl(`${baseUrl}/api/auth/refresh`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
        body: JSON.stringify({ refresh_token: stored.token }),
        credentials: 'omit',
        cache: 'no-store',
      });
    } catch {
      return null;
    }
    // A refusal is left for the page to handle (it signs the user out); we just do nothing.
    if (!response.ok) return null;
    const pair = (await response.json()) as {
      access_token: string;
      refresh_token: string;
      refresh_expires_at: string;
    };
    const rotated: StoredRefresh = { token: pair.refresh_token, expiresAt: pair.refresh_expires_at };
    await db.auth.put({ key: REFRESH_KEY, value: rotated, updatedAt: Date.now() });
    return { accessToken: pair.access_token, userId: me?.id ?? null };
  };
  const locks = typeof navigator !== 'undefined' ? navigator.locks : undefined;
  if (!locks) return refresh();
  return (await locks.request(REFRESH_LOCK, refresh)) as BackgroundSession | null;
}

export type InitResult = 'initialised' | 'duplicate' | 'failed' | 'retry-later';

/** POST /api/upload/init for a pending entry; records the answer in the queue. */
export async function initEntry(
  entry: QueueRecord,
  session: BackgroundSession,
  baseUrl: string,
  fetchImpl: typeof fetch = fetch.bind(globalThis),
): Promise<InitResult> {
  let response: Response;
  try {
    response = await fetchImpl(`${baseUrl}/api/upload/init`, {
      method: 'POST',
      headers: {
        'Content-Type': 'application/json',
        Accept: 'application/json',
        Authorization: `Bearer ${session.accessToken}`,
      },
      body: JSON.stringify({
        ...entry.metadata,
        notes: entry.metadata.notes || undefined,
        files: entry.files,
        force_upload: entry.forceUpload,
        ...(entry.chunkSize ? { chunk_size: entry.chunkSize } : {}),
      }),
      credentials: 'omit',
      cache: 'no-store',
    });
  } catch {
    return 'retry-later';
  }
  if (response.status === 201) {
    const created = (await response.json()) as UploadCreated;
    await updateEntry(entry.id, { state: 'uploading', server: serverUpload(created), error: undefined });
    publishQueueEvent({ type: 'changed', id: entry.id });
    return 'initialised';
  }
  const body = (await response.json().catch(() => null)) as {
    error?: { code?: string; message?: string; duplicate_of?: Record<string, unknown> };
  } | null;
  if (response.status === 409 && body?.error?.code === 'duplicate_study') {
    await updateEntry(entry.id, { state: 'duplicate', duplicateOf: body.error.duplicate_of ?? {} });
    publishQueueEvent({ type: 'changed', id: entry.id });
    return 'duplicate';
  }
  if (response.status >= 500 || response.status === 429 || response.status === 401) return 'retry-later';
  await updateEntry(entry.id, {
    state: 'failed',
    error: {
      code: body?.error?.code ?? `http_${response.status}`,
      message: body?.error?.message ?? `The server refused the upload (HTTP ${response.status}).`,
      status: response.status,
    },
  });
  publishQueueEvent({ type: 'failed', id: entry.id });
  return 'failed';
}
