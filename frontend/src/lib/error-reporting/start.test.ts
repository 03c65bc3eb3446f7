import { afterEach, describe, expect, it, vi } from 'vitest';

import { RELEASE, loadConfig } from '@/lib/error-reporting/start';

const CONFIG = { dsn: 'https://key@o1.ingest.example.org/7', environment: 'staging', traces_sample_rate: 0 };

function answering(body: unknown, ok = true): typeof fetch {
  return vi.fn(async () => new Response(JSON.stringify(body), { status: ok ? 200 : 503 })) as unknown as typeof fetch;
}

afterEach(() => localStorage.clear());

describe('loadConfig', () => {
  it("uses the gateway's DSN and keeps it for an offline start", async () => {
    expect(await loadConfig(answering({ sentry: CONFIG }))).toEqual(CONFIG);

    const offline = vi.fn(async () => {
      throw new TypeError('Failed to fetch');
    }) as unknown as typeof fetch;
    expect(await loadConfig(offline)).toEqual(CONFIG);
  });

  it('forgets the kept DSN when the gateway turns reporting off', async () => {
    await loadConfig(answering({ sentry: CONFIG }));
    expect(await loadConfig(answering({ sentry: { ...CONFIG, dsn: null } }))).toMatchObject({ dsn: null });

    const offline = vi.fn(async () => {
      throw new TypeError('Failed to fetch');
    }) as unknown as typeof fetch;
    expect(await loadConfig(offline)).toBeNull();
  });
});

describe('RELEASE', () => {
  it("is the app's version unless the build names one", () => {
    expect(RELEASE).toMatch(/^relaypacs@\d+\.\d+\.\d+/);
  });
});
