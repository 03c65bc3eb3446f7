import { AxiosError, AxiosHeaders } from 'axios';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

import { db } from '@/lib/db';
import {
  changePreferences,
  effective,
  flushPending,
  readStored,
  refreshPreferences,
  type Preferences,
} from '@/lib/preferences/preferences-store';

const get = vi.fn();
const patch = vi.fn();
vi.mock('@/lib/api-client', async (importOriginal) => ({
  ...(await importOriginal<typeof import('@/lib/api-client')>()),
  apiClient: { get: (...a: unknown[]) => get(...a), patch: (...a: unknown[]) => patch(...a) },
}));

const SERVER: Preferences = {
  default_service_level: 'ROUTINE',
  chunk_size: 1048576,
  duplicate_check: true,
  notifications: { report_ready: { in_app: true, push: true, email: false } },
  chunk_size_limits: { min: 262144, max: 16777216, default: 1048576 },
};

function httpError(status: number, message: string) {
  return new AxiosError('x', 'ERR_BAD_REQUEST', undefined, undefined, {
    status,
    statusText: '',
    headers: {},
    config: { headers: new AxiosHeaders() },
    data: { error: { code: 'validation_error', message } },
  });
}

function setOnline(online: boolean) {
  vi.spyOn(navigator, 'onLine', 'get').mockReturnValue(online);
}

beforeEach(async () => {
  await db.settings.clear();
  get.mockReset().mockResolvedValue({ data: SERVER });
  patch.mockReset().mockImplementation(async (_url: string, change: Partial<Preferences>) => ({
    data: { ...SERVER, ...change },
  }));
});

afterEach(() => vi.restoreAllMocks());

describe('preferences store', () => {
  it('keeps the server answer for offline use', async () => {
    setOnline(true);
    await refreshPreferences('u1');
    setOnline(false);
    expect(effective(await readStored('u1'))).toEqual(SERVER);
  });

  it('offline: a change is queued, applies here at once, and is sent when back online', async () => {
    setOnline(true);
    await refreshPreferences('u1');
    setOnline(false);
    expect(await changePreferences('u1', { chunk_size: 262144 })).toEqual({ kind: 'queued' });
    expect(await changePreferences('u1', { notifications: { report_ready: { in_app: true, push: false, email: true } } }))
      .toEqual({ kind: 'queued' });
    expect(patch).not.toHaveBeenCalled();
    const stored = await readStored('u1');
    expect(effective(stored)).toMatchObject({ chunk_size: 262144, notifications: { report_ready: { push: false } } });

    setOnline(true);
    const after = await flushPending('u1');
    expect(patch).toHaveBeenCalledTimes(1);
    expect(patch.mock.calls[0]![1]).toEqual({
      chunk_size: 262144,
      notifications: { report_ready: { in_app: true, push: false, email: true } },
    });
    expect(after.pending).toBeNull();
    expect(after.server?.chunk_size).toBe(262144);
  });

  it('a queued change the server refuses is dropped with the reason kept', async () => {
    setOnline(true);
    await refreshPreferences('u1');
    setOnline(false);
    await changePreferences('u1', { chunk_size: 300000 });
    setOnline(true);
    patch.mockRejectedValueOnce(httpError(422, 'chunk_size is out of range'));
    const after = await flushPending('u1');
    expect(after.pending).toBeNull();
    expect(after.refused).toContain('chunk_size is out of range');
    expect(effective(after)?.chunk_size).toBe(1048576);
  });

  it('no answer from the server: the change waits instead of being lost', async () => {
    setOnline(true);
    await refreshPreferences('u1');
    patch.mockRejectedValueOnce(new AxiosError('Network Error', 'ERR_NETWORK'));
    expect(await changePreferences('u1', { duplicate_check: false })).toEqual({ kind: 'queued' });
    expect((await readStored('u1')).pending).toEqual({ duplicate_check: false });
  });

  it('online: saved at once; a 4xx is reported, not queued', async () => {
    setOnline(true);
    expect(await changePreferences('u1', { default_service_level: 'STAT' })).toEqual({ kind: 'saved' });
    patch.mockRejectedValueOnce(httpError(422, 'bad level'));
    expect(await changePreferences('u1', { chunk_size: 1 })).toEqual({ kind: 'refused', message: 'bad level' });
    expect((await readStored('u1')).pending).toBeNull();
  });
});
