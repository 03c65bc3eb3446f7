import type { AxiosAdapter, AxiosResponse, InternalAxiosRequestConfig } from 'axios';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

import {
  apiClient,
  clearSession,
  getAccessToken,
  onSessionExpired,
  SessionExpiredError,
  setSession,
} from '@/lib/api-client';
import { db } from '@/lib/db';
import type { TokenPair } from '@/types/api';

function pair(n: number): TokenPair {
  return {
    access_token: `access-${n}`,
    refresh_token: `refresh-${n}`,
    token_type: 'bearer',
    expires_in: 3600,
    refresh_expires_at: new Date(Date.now() + 7 * 86400_000).toISOString(),
  };
}

function respond(config: InternalAxiosRequestConfig, status: number, data: unknown): Promise<AxiosResponse> {
  const response = { data, status, statusText: String(status), headers: {}, config } as AxiosResponse;
  if (status >= 400) {
    const error = Object.assign(new Error(`Request failed with status code ${status}`), {
      isAxiosError: true,
      config,
      response,
      toJSON: () => ({}),
    });
    return Promise.reject(error);
  }
  return Promise.resolve(response);
}

/** A fake backend: /api/data needs the current access token; /api/auth/refresh rotates. */
function fakeServer({ refreshStatus = 200, refreshDelayMs = 20 } = {}) {
  const state = { current: 'access-1', refreshCalls: 0, refreshBodies: [] as unknown[], dataCalls: 0 };
  const adapter: AxiosAdapter = async (config) => {
    const auth = config.headers?.Authorization as string | undefined;
    if (config.url === '/api/auth/refresh') {
      state.refreshCalls += 1;
      state.refreshBodies.push(JSON.parse(config.data as string));
      await new Promise((resolve) => setTimeout(resolve, refreshDelayMs));
      if (refreshStatus === 0) {
        return Promise.reject(Object.assign(new Error('Network Error'), { isAxiosError: true, config }));
      }
      if (refreshStatus !== 200) return respond(config, refreshStatus, { error: { code: 'invalid_token', message: 'no' } });
      const next = pair(state.refreshCalls + 1);
      state.current = next.access_token;
      return respond(config, 200, next);
    }
    state.dataCalls += 1;
    if (auth !== `Bearer ${state.current}`) return respond(config, 401, { error: { code: 'unauthorized', message: 'x' } });
    return respond(config, 200, { ok: true, token: auth });
  };
  return { state, adapter };
}

describe('apiClient refresh interceptor', () => {
  const originalAdapter = apiClient.defaults.adapter;

  beforeEach(async () => {
    await setSession(pair(0)); // access-0 is already stale on the fake server
  });

  afterEach(async () => {
    apiClient.defaults.adapter = originalAdapter;
    await clearSession();
  });

  it('answers concurrent 401s with exactly one refresh and retries every request', async () => {
    const server = fakeServer();
    apiClient.defaults.adapter = server.adapter;
    server.state.current = 'not-yet-issued';

    const results = await Promise.all(Array.from({ length: 5 }, () => apiClient.get('/api/data')));

    expect(server.state.refreshCalls).toBe(1);
    expect(server.state.refreshBodies).toEqual([{ refresh_token: 'refresh-0' }]);
    expect(results.map((r) => r.data.token)).toEqual(Array(5).fill('Bearer access-2'));
    expect(getAccessToken()).toBe('access-2');
    // The rotated refresh token is what gets persisted.
    expect((await db.auth.get('refresh'))?.value).toMatchObject({ token: 'refresh-2' });
  });

  it('does not refresh again for a 401 that raced an already finished refresh', async () => {
    const server = fakeServer();
    apiClient.defaults.adapter = server.adapter;
    server.state.current = 'not-yet-issued';
    await apiClient.get('/api/data'); // one refresh: access-2
    // A request sent with the old token that comes back 401 after the refresh.
    const late = await apiClient.get('/api/data', { headers: { Authorization: 'Bearer access-0' } });
    expect(late.data.token).toBe('Bearer access-2');
    expect(server.state.refreshCalls).toBe(1);
  });

  it('signs out when the server refuses the refresh token', async () => {
    const server = fakeServer({ refreshStatus: 401 });
    apiClient.defaults.adapter = server.adapter;
    server.state.current = 'never';
    const expired = vi.fn();
    const unsubscribe = onSessionExpired(expired);

    const outcomes = await Promise.allSettled([apiClient.get('/api/data'), apiClient.get('/api/data')]);

    unsubscribe();
    expect(outcomes.every((o) => o.status === 'rejected' && o.reason instanceof SessionExpiredError)).toBe(true);
    expect(server.state.refreshCalls).toBe(1);
    expect(expired).toHaveBeenCalledTimes(1);
    expect(getAccessToken()).toBeNull();
    expect(await db.auth.get('refresh')).toBeUndefined();
  });

  it('keeps the session when the refresh fails for lack of network', async () => {
    const server = fakeServer({ refreshStatus: 0 });
    apiClient.defaults.adapter = server.adapter;
    server.state.current = 'never';
    const expired = vi.fn();
    const unsubscribe = onSessionExpired(expired);

    await expect(apiClient.get('/api/data')).rejects.toThrow('Network Error');

    unsubscribe();
    expect(expired).not.toHaveBeenCalled();
    expect((await db.auth.get('refresh'))?.value).toMatchObject({ token: 'refresh-0' });
  });

  it('never retries a request more than once', async () => {
    const server = fakeServer();
    const adapter: AxiosAdapter = async (config) =>
      config.url === '/api/auth/refresh' ? server.adapter(config) : respond(config, 401, {});
    apiClient.defaults.adapter = adapter;
    await expect(apiClient.get('/api/data')).rejects.toMatchObject({ response: { status: 401 } });
    expect(server.state.refreshCalls).toBe(1);
  });
});
