import axios, { AxiosError, type AxiosRequestConfig, type InternalAxiosRequestConfig } from 'axios';

import { db } from '@/lib/db';
import type { ApiErrorBody, TokenPair } from '@/types/api';

declare module 'axios' {
  interface AxiosRequestConfig {
    /** Do not attach the access token (public endpoints). */
    skipAuth?: boolean;
    /** Do not try a token refresh when this request answers 401. */
    skipAuthRefresh?: boolean;
    /** Set on the single retry after a refresh. */
    _retried?: boolean;
  }
}

const REFRESH_KEY = 'refresh';
const REFRESH_LOCK = 'relaypacs-auth-refresh';

interface StoredRefresh {
  token: string;
  /** ISO timestamp from the server (7 days by default). */
  expiresAt: string;
}

/** The one HTTP client of the app. Same origin: the backend serves the SPA, `npm run dev` proxies /api. */
export const apiClient = axios.create({
  headers: { Accept: 'application/json' },
  timeout: 60_000,
});

// The access token lives only in memory; the refresh token is persisted so an installed PWA
// stays signed in across restarts (until the refresh token's own expiry).
let accessToken: string | null = null;
let inflightRefresh: Promise<string> | null = null;
const expiredListeners = new Set<() => void>();

export class SessionExpiredError extends Error {
  constructor() {
    super('Your session has ended. Please sign in again.');
    this.name = 'SessionExpiredError';
  }
}

/** The current access token (null when signed out or not refreshed yet). */
export function getAccessToken(): string | null {
  return accessToken;
}

/** An access token, refreshing first when none is in memory (e.g. right after a restart). */
export async function ensureAccessToken(): Promise<string> {
  return accessToken ?? refreshAccessToken();
}

export async function hasStoredSession(): Promise<boolean> {
  const stored = await readStoredRefresh();
  return stored !== null;
}

/** Store a freshly issued token pair (login, 2FA, refresh). */
export async function setSession(pair: TokenPair): Promise<void> {
  accessToken = pair.access_token;
  const stored: StoredRefresh = { token: pair.refresh_token, expiresAt: pair.refresh_expires_at };
  await db.auth.put({ key: REFRESH_KEY, value: stored, updatedAt: Date.now() });
}

/** Forget every token (logout, or a refresh the server refused). */
export async function clearSession(): Promise<void> {
  accessToken = null;
  await db.auth.delete(REFRESH_KEY);
}

/** Called when the session cannot be refreshed any more; returns an unsubscribe function. */
export function onSessionExpired(listener: () => void): () => void {
  expiredListeners.add(listener);
  return () => expiredListeners.delete(listener);
}

/**
 * Exchange the stored refresh token for a new pair. Concurrent callers share one request; across
 * tabs a Web Lock serialises refreshes and each tab reads the latest rotated token from IndexedDB.
 */
export function refreshAccessToken(): Promise<string> {
  inflightRefresh ??= withRefreshLock(performRefresh).finally(() => {
    inflightRefresh = null;
  });
  return inflightRefresh;
}

async function readStoredRefresh(): Promise<StoredRefresh | null> {
  const row = await db.auth.get(REFRESH_KEY);
  const stored = row?.value as StoredRefresh | undefined;
  if (!stored?.token) return null;
  if (Date.parse(stored.expiresAt) <= Date.now()) {
    await db.auth.delete(REFRESH_KEY);
    return null;
  }
  return stored;
}

async function performRefresh(): Promise<string> {
  const stored = await readStoredRefresh();
  if (!stored) {
    accessToken = null;
    throw new SessionExpiredError();
  }
  try {
    const { data } = await apiClient.post<TokenPair>(
      '/api/auth/refresh',
      { refresh_token: stored.token },
      { skipAuth: true, skipAuthRefresh: true },
    );
    await setSession(data);
    return data.access_token;
  } catch (error) {
    // Offline or a server hiccup: keep the stored token, the user is still signed in.
    if (axios.isAxiosError(error) && error.response && error.response.status < 500) {
      await clearSession();
      expiredListeners.forEach((listener) => listener());
      throw new SessionExpiredError();
    }
    throw error;
  }
}

async function withRefreshLock<T>(fn: () => Promise<T>): Promise<T> {
  const locks = typeof navigator !== 'undefined' ? navigator.locks : undefined;
  if (!locks) return fn();
  return locks.request(REFRESH_LOCK, fn) as Promise<T>;
}

function bearerOf(config: AxiosRequestConfig): string | null {
  const header = config.headers ? (config.headers as Record<string, unknown>).Authorization : null;
  return typeof header === 'string' && header.startsWith('Bearer ') ? header.slice(7) : null;
}

apiClient.interceptors.request.use((config: InternalAxiosRequestConfig) => {
  if (!config.skipAuth && accessToken && !config.headers.has('Authorization')) {
    config.headers.set('Authorization', `Bearer ${accessToken}`);
  }
  return config;
});

apiClient.interceptors.response.use(undefined, async (error: unknown) => {
  if (!axios.isAxiosError(error) || !error.config) throw error;
  const config = error.config;
  if (error.response?.status !== 401 || config.skipAuth || config.skipAuthRefresh || config._retried) {
    throw error;
  }
  const used = bearerOf(config);
  // Another request already refreshed while this one was in flight: just retry with the new token.
  const token = accessToken && used !== accessToken ? accessToken : await refreshAccessToken();
  config._retried = true;
  config.headers.set('Authorization', `Bearer ${token}`);
  return apiClient.request(config);
});

/** A human-readable message for any error thrown by apiClient. */
export function errorMessage(error: unknown, fallback = 'Something went wrong. Please try again.'): string {
  if (error instanceof SessionExpiredError) return error.message;
  if (axios.isAxiosError(error)) {
    const body = (error as AxiosError<ApiErrorBody>).response?.data;
    if (body && typeof body === 'object' && body.error?.message) return body.error.message;
    if (!error.response) return 'The server cannot be reached. Check your connection.';
  }
  return fallback;
}

export function errorCode(error: unknown): string | null {
  if (!axios.isAxiosError(error)) return null;
  const body = (error as AxiosError<ApiErrorBody>).response?.data;
  return body && typeof body === 'object' ? (body.error?.code ?? null) : null;
}

export function errorStatus(error: unknown): number | null {
  return axios.isAxiosError(error) ? (error.response?.status ?? null) : null;
}
