import type { AxiosAdapter, AxiosResponse, InternalAxiosRequestConfig } from 'axios';

import { apiClient } from '@/lib/api-client';
import type { Me, TokenPair } from '@/types/api';

export interface FakeRequest {
  method: string;
  url: string;
  body: unknown;
  authorization: string | undefined;
  /** Axios `params` (the query string). */
  params: Record<string, unknown> | undefined;
}

type Answer = { status: number; body?: unknown } | 'network-error';
/** An answer, or a promise of one (to hold a response back, e.g. to answer out of order). */
type Handler = (request: FakeRequest) => Answer | Promise<Answer>;

/** Route apiClient's requests to `handler` (restore with the returned function). */
export function fakeApi(handler: Handler): { requests: FakeRequest[]; restore: () => void } {
  const original = apiClient.defaults.adapter;
  const requests: FakeRequest[] = [];
  const adapter: AxiosAdapter = async (config: InternalAxiosRequestConfig) => {
    const request: FakeRequest = {
      method: (config.method ?? 'get').toUpperCase(),
      url: config.url ?? '',
      body: typeof config.data === 'string' ? JSON.parse(config.data) : config.data,
      authorization: config.headers?.Authorization as string | undefined,
      params: config.params as Record<string, unknown> | undefined,
    };
    requests.push(request);
    const answer = await handler(request);
    if (answer === 'network-error') {
      throw Object.assign(new Error('Network Error'), { isAxiosError: true, config });
    }
    const response = {
      data: answer.body,
      status: answer.status,
      statusText: String(answer.status),
      headers: {},
      config,
    } as AxiosResponse;
    if (answer.status >= 400) {
      throw Object.assign(new Error(`Request failed with status code ${answer.status}`), {
        isAxiosError: true,
        config,
        response,
      });
    }
    return response;
  };
  apiClient.defaults.adapter = adapter;
  return { requests, restore: () => (apiClient.defaults.adapter = original) };
}

export const ME: Me = {
  id: '7d1f0e4e-1111-4c4c-9999-000000000001',
  email: 'ana@example.org',
  username: 'ana.w',
  full_name: 'Ana Wright',
  facility_id: '5b0c8a52-2222-4c4c-9999-000000000004',
  facility: 'Rural Clinic 4',
  role: 'radiographer',
  membership: null,
  mfa_enabled: false,
  permissions: ['upload:create', 'upload:read_own', 'report:read_own', 'report:read_facility'],
  session_id: '7d1f0e4e-1111-4c4c-9999-000000000002',
};

export function tokenPair(n = 1): TokenPair {
  return {
    access_token: `access-${n}`,
    refresh_token: `refresh-${n}`,
    token_type: 'bearer',
    expires_in: 3600,
    refresh_expires_at: new Date(Date.now() + 7 * 86400_000).toISOString(),
  };
}
