/**
 * Error reporting for the web app, with Sentry, only when a DSN is configured: at build time
 * (VITE_SENTRY_DSN) or by the gateway (GET /api/client-config, SENTRY_BROWSER_DSN). The SDK is
 * loaded on demand, in its own chunk, after the app has rendered: without a DSN it is never
 * downloaded. The last configuration is kept so that an offline start still reports (events
 * wait in IndexedDB until the network is back). Every event goes through `scrub.ts`.
 */
import type { ErrorInfo } from 'react';

import { scrubBreadcrumb, scrubEvent, scrubTransaction } from '@/lib/error-reporting/scrub';

export interface ErrorReportingConfig {
  dsn: string | null;
  environment: string;
  traces_sample_rate: number;
}

type Sdk = typeof import('@sentry/react');

const CONFIG_URL = '/api/client-config';
const STORED_CONFIG = 'relaypacs.error-reporting';
export const RELEASE: string = import.meta.env.VITE_SENTRY_RELEASE || `relaypacs@${__APP_VERSION__}`;

let sdk: Sdk | null = null;
let started: Promise<boolean> | null = null;
const early: { error: unknown; componentStack?: string }[] = [];

function buildTimeConfig(): ErrorReportingConfig | null {
  const dsn = import.meta.env.VITE_SENTRY_DSN;
  if (!dsn) return null;
  return {
    dsn,
    environment: import.meta.env.VITE_SENTRY_ENVIRONMENT || 'production',
    traces_sample_rate: Number(import.meta.env.VITE_SENTRY_TRACES_SAMPLE_RATE || 0),
  };
}

function storedConfig(): ErrorReportingConfig | null {
  try {
    const raw = localStorage.getItem(STORED_CONFIG);
    return raw ? (JSON.parse(raw) as ErrorReportingConfig) : null;
  } catch {
    return null;
  }
}

/** The configuration to use: the build's, else the gateway's (or the last one it gave). */
export async function loadConfig(fetchImpl: typeof fetch = fetch): Promise<ErrorReportingConfig | null> {
  const built = buildTimeConfig();
  if (built) return built;
  try {
    const response = await fetchImpl(CONFIG_URL, { headers: { Accept: 'application/json' } });
    if (!response.ok) return storedConfig();
    const body = (await response.json()) as { sentry?: ErrorReportingConfig };
    const config = body.sentry ?? null;
    try {
      if (config?.dsn) localStorage.setItem(STORED_CONFIG, JSON.stringify(config));
      else localStorage.removeItem(STORED_CONFIG);
    } catch {
      // storage full or denied: this start still reports
    }
    return config;
  } catch {
    return storedConfig(); // offline: the last configuration the gateway gave
  }
}

function init(Sentry: Sdk, config: ErrorReportingConfig & { dsn: string }): void {
  const tracing = config.traces_sample_rate > 0;
  Sentry.init({
    dsn: config.dsn,
    release: RELEASE,
    environment: config.environment,
    // Collect no user, cookies, headers, bodies or query strings in the first place.
    dataCollection: {
      userInfo: false,
      cookies: false,
      httpHeaders: false,
      httpBodies: [],
      urlQueryParams: false,
    },
    tracesSampleRate: tracing ? config.traces_sample_rate : undefined,
    integrations: tracing ? [Sentry.browserTracingIntegration()] : [],
    transport: Sentry.makeBrowserOfflineTransport(Sentry.makeFetchTransport),
    beforeSend: scrubEvent,
    beforeSendTransaction: scrubTransaction,
    beforeBreadcrumb: scrubBreadcrumb,
  });
}

/** Start reporting if a DSN is configured; resolves true once Sentry is running. */
export function startErrorReporting(): Promise<boolean> {
  started ??= (async () => {
    const config = await loadConfig();
    if (!config?.dsn) return false;
    const Sentry = await import('@sentry/react');
    init(Sentry, { ...config, dsn: config.dsn });
    sdk = Sentry;
    for (const { error, componentStack } of early.splice(0)) {
      Sentry.captureException(error, { contexts: { react: { componentStack } } });
    }
    return true;
  })().catch(() => false);
  return started;
}

/** Report an error the app caught (or hold it until Sentry has loaded). */
export function reportCaughtError(error: unknown, componentStack?: string): void {
  if (sdk) sdk.captureException(error, { contexts: { react: { componentStack } } });
  else if (early.length < 20) early.push({ error, componentStack });
}

/** React's `onUncaughtError`. */
export function reportReactError(error: unknown, info: ErrorInfo): void {
  reportCaughtError(error, info.componentStack ?? undefined);
}
