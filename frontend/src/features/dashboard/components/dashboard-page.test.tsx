import { act, render, screen, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import type { ReactNode } from 'react';
import { MemoryRouter, Route, Routes, useLocation } from 'react-router-dom';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

import { DashboardPage } from '@/features/dashboard/components/dashboard-page';
import type { UploadStats } from '@/features/dashboard/types/stats';
import { clearSession, setSession } from '@/lib/api-client';
import { AuthProvider, useAuth } from '@/lib/auth';
import { db } from '@/lib/db';
import { fakeApi, ME, tokenPair, type FakeRequest } from '@/testing/fake-api';
import type { Me } from '@/types/api';

const ADMIN: Me = {
  ...ME,
  role: 'admin',
  permissions: [
    'upload:create',
    'upload:read_own',
    'upload:read_all',
    'report:read_all',
    'facility:manage',
    'analytics:export',
  ],
};

const FACILITIES = [
  { id: 'f-1', name: 'Rural Clinic 4', is_active: true, created_at: '2026-01-01T00:00:00Z', updated_at: '2026-01-01T00:00:00Z' },
  { id: 'f-2', name: 'Old Annex', is_active: false, created_at: '2026-01-01T00:00:00Z', updated_at: '2026-01-01T00:00:00Z' },
];

function stats(overrides: Partial<UploadStats> = {}): UploadStats {
  return {
    period: '1m',
    from: '2026-11-01T00:00:00Z',
    to: '2026-12-01T00:00:00Z',
    generated_at: '2026-12-01T08:00:00Z',
    total_uploads: 1234,
    volume_bytes: 12_345_678_901,
    volume_gb: 12.35,
    success_rate: 0.9234,
    avg_upload_seconds: 125,
    avg_delivery_seconds: null,
    by_outcome: { forwarded: 1100, failed: 91, in_progress: 30, cancelled: 8, expired: 5 },
    by_modality: [
      { modality: 'CT', uploads: 700, bytes: 9_000_000_000 },
      { modality: 'MR', uploads: 500, bytes: 3_000_000_000 },
      { modality: 'CR', uploads: 34, bytes: 345_678_901 },
    ],
    by_service_level: [
      { service_level: 'STAT', uploads: 40 },
      { service_level: 'EMERGENCY', uploads: 194 },
      { service_level: 'ROUTINE', uploads: 1000 },
    ],
    daily: Array.from({ length: 31 }, (_, i) => ({
      date: `2026-11-${String(i + 1).padStart(2, '0')}`.replace('2026-11-31', '2026-12-01'),
      uploads: 40 + i,
      forwarded: 35 + i,
      failed: i % 3,
    })),
    ...overrides,
  };
}

function setVisibility(state: 'visible' | 'hidden') {
  Object.defineProperty(document, 'visibilityState', { value: state, configurable: true });
  document.dispatchEvent(new Event('visibilitychange'));
}

function setOnline(online: boolean) {
  Object.defineProperty(navigator, 'onLine', { value: online, configurable: true });
  window.dispatchEvent(new Event(online ? 'online' : 'offline'));
}

/** As RequireAuth in the app: the page only renders once the user is known. */
function SignedIn({ children }: { children: ReactNode }) {
  const { status } = useAuth();
  return status === 'signed-in' ? children : null;
}

function LocationProbe() {
  return <output data-testid="location">{useLocation().search}</output>;
}

const statsRequests = (requests: FakeRequest[]) => requests.filter((request) => request.url === '/api/upload/stats');

describe('DashboardPage', () => {
  let restore = () => {};
  let requests: FakeRequest[];
  let me: Me;
  let answer: (request: FakeRequest) => UploadStats;

  beforeEach(async () => {
    me = ME;
    answer = (request) => stats({ period: (request.params?.period as UploadStats['period']) ?? '1m' });
    await db.cache.clear();
    await setSession(tokenPair(1));
    const api = fakeApi((request) => {
      if (request.url === '/api/auth/refresh') return { status: 200, body: tokenPair(2) };
      if (request.url === '/api/auth/me') return { status: 200, body: me };
      if (request.url === '/api/upload/stats') return { status: 200, body: answer(request) };
      if (request.url === '/api/facilities/all') return { status: 200, body: { items: FACILITIES } };
      if (request.url === '/api/upload/stats/export') return { status: 200, body: new Blob(['date,facility\n']) };
      return { status: 404, body: {} };
    });
    requests = api.requests;
    restore = api.restore;
  });

  afterEach(async () => {
    vi.useRealTimers();
    setVisibility('visible');
    setOnline(true);
    restore();
    await clearSession();
  });

  function renderPage(entry = '/dashboard') {
    return render(
      <AuthProvider>
        <MemoryRouter initialEntries={[entry]}>
          <Routes>
            <Route
              path="/dashboard"
              element={
                <SignedIn>
                  <DashboardPage />
                  <LocationProbe />
                </SignedIn>
              }
            />
          </Routes>
        </MemoryRouter>
      </AuthProvider>,
    );
  }

  async function card(key: string) {
    const found = await vi.waitFor(() => {
      const element = document.querySelector(`[data-stat="${key}"] .stat-value`);
      if (!element) throw new Error(`no card ${key}`);
      return element;
    });
    return found.textContent;
  }

  it('shows the four figures of the answer, formatted, with null as an em dash', async () => {
    renderPage();
    expect(await card('total_uploads')).toBe('1,234');
    expect(await card('volume_gb')).toBe('12.35 GB');
    expect(await card('success_rate')).toBe('92.34%');
    expect(await card('avg_upload_seconds')).toBe('2 min 5 s');
    expect(screen.getByText('delivery to PACS —')).toBeInTheDocument();
    expect(screen.getByText('1,100 forwarded · 91 failed')).toBeInTheDocument();
    // The default period is 1M, in the browser's time zone.
    expect(statsRequests(requests)[0]?.params).toMatchObject({ period: '1m' });
    expect(statsRequests(requests)[0]?.params?.tz).toBe(Intl.DateTimeFormat().resolvedOptions().timeZone);
    expect(screen.getByRole('button', { name: /^1M/ })).toHaveAttribute('aria-pressed', 'true');
  });

  it('shows no rate and no time as an em dash, and an empty period without charts', async () => {
    answer = () =>
      stats({
        total_uploads: 0,
        volume_bytes: 0,
        volume_gb: 0,
        success_rate: null,
        avg_upload_seconds: null,
        by_modality: [],
        by_outcome: { forwarded: 0, failed: 0, in_progress: 0, cancelled: 0, expired: 0 },
      });
    renderPage();
    expect(await card('total_uploads')).toBe('0');
    expect(await card('volume_gb')).toBe('0.00 GB');
    expect(await card('success_rate')).toBe('—');
    expect(await card('avg_upload_seconds')).toBe('—');
    expect(screen.getByText('No uploads in this period.')).toBeInTheDocument();
  });

  it('gives every chart a table of its data and a keyboard-reachable legend', async () => {
    renderPage();
    await card('total_uploads');
    const modality = screen.getByRole('table', { name: 'Uploads by modality' });
    const modalityRows = within(modality).getAllByRole('row').slice(1);
    expect(modalityRows.map((row) => row.textContent)).toEqual(['CT7009.00 GB', 'MR5003.00 GB', 'CR34346 MB']);

    const levels = screen.getByRole('table', { name: 'Uploads by service level' });
    expect(within(levels).getAllByRole('row').slice(1).map((row) => row.textContent)).toEqual([
      'STAT40',
      'EMERGENCY194',
      'ROUTINE1,000',
    ]);

    // The daily table follows the 7 / 30 days toggle.
    let daily = screen.getByRole('table', { name: 'Uploads per day, last 30 days' });
    expect(within(daily).getAllByRole('row')).toHaveLength(31);
    await userEvent.click(screen.getByRole('button', { name: '7 days' }));
    daily = screen.getByRole('table', { name: 'Uploads per day, last 7 days' });
    const dailyRows = within(daily).getAllByRole('row').slice(1);
    expect(dailyRows).toHaveLength(7);
    expect(dailyRows.at(-1)?.textContent).toBe('2026-12-01' + '70' + '65' + '0');
    expect(screen.getByRole('button', { name: '7 days' })).toHaveAttribute('aria-pressed', 'true');

    // Tabbing to a legend entry shows that slice's details (the pie's tooltip, from the keyboard).
    const legend = screen.getByRole('list', { name: 'Modalities' });
    const ct = within(legend).getByRole('button', { name: /CT/ });
    act(() => ct.focus());
    expect(screen.getByText('CT: 700 uploads (56.73%), 9.00 GB')).toBeInTheDocument();
    expect(ct).toHaveAttribute('aria-pressed', 'true');
  });

  it('asks for the chosen period and keeps it in the URL', async () => {
    renderPage();
    await card('total_uploads');
    for (const [label, period] of [
      ['1W', '1w'],
      ['2W', '2w'],
      ['3M', '3m'],
      ['6M', '6m'],
      ['ALL', 'all'],
    ] as const) {
      await userEvent.click(screen.getByRole('button', { name: new RegExp(`^${label} `) }));
      await vi.waitFor(() => expect(statsRequests(requests).at(-1)?.params?.period).toBe(period));
      await vi.waitFor(() => expect(document.querySelector('.dashboard')).toHaveAttribute('data-period', period));
      expect(screen.getByRole('button', { name: new RegExp(`^${label} `) })).toHaveAttribute('aria-pressed', 'true');
      expect(screen.getByTestId('location')).toHaveTextContent(`?period=${period}`);
    }
    expect(screen.getByText(/Uploads of the all time/)).toBeInTheDocument();
  }, 20_000);

  it('refreshes every minute while visible and online, pauses when hidden or offline, and resumes', { timeout: 20_000 }, async () => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval', 'Date'], shouldAdvanceTime: true });
    renderPage();
    await card('total_uploads');
    const count = () => statsRequests(requests).length;
    expect(count()).toBe(1);

    await act(async () => vi.advanceTimersByTimeAsync(60_000));
    await vi.waitFor(() => expect(count()).toBe(2));

    // Hidden: no refresh however long it stays hidden.
    act(() => setVisibility('hidden'));
    await act(async () => vi.advanceTimersByTimeAsync(180_000));
    expect(count()).toBe(2);
    // Visible again after more than a minute: refreshed at once, then every minute again.
    act(() => setVisibility('visible'));
    await vi.waitFor(() => expect(count()).toBe(3));
    await act(async () => vi.advanceTimersByTimeAsync(60_000));
    await vi.waitFor(() => expect(count()).toBe(4));

    // Offline: no request, the last data stays on screen with the cached badge.
    act(() => setOnline(false));
    expect(await screen.findByText(/Viewing cached data/)).toBeInTheDocument();
    expect(await card('total_uploads')).toBe('1,234');
    await act(async () => vi.advanceTimersByTimeAsync(180_000));
    expect(count()).toBe(4);
    // Online again: fetched at once and the badge goes away.
    act(() => setOnline(true));
    await vi.waitFor(() => expect(count()).toBe(5));
    await vi.waitFor(() => expect(screen.queryByText(/Viewing cached data/)).not.toBeInTheDocument());
  });

  it('offers neither the facility filter nor the export to a non-admin', async () => {
    renderPage();
    await card('total_uploads');
    expect(screen.queryByRole('button', { name: 'Export CSV' })).not.toBeInTheDocument();
    expect(screen.queryByLabelText('Facility')).not.toBeInTheDocument();
    expect(requests.some((request) => request.url === '/api/facilities/all')).toBe(false);
    // A facility in the URL is not sent for someone who may not filter.
    expect(statsRequests(requests).every((request) => !('facility' in (request.params ?? {})))).toBe(true);
  });

  it('lets an admin filter by facility and export the period as CSV with the token in a header', async () => {
    me = ADMIN;
    const clicked: string[] = [];
    URL.createObjectURL = vi.fn(() => 'blob:stats') as typeof URL.createObjectURL;
    URL.revokeObjectURL = vi.fn();
    const click = vi.spyOn(HTMLAnchorElement.prototype, 'click').mockImplementation(function (this: HTMLAnchorElement) {
      clicked.push(this.download);
    });
    renderPage('/dashboard?period=3m');
    await card('total_uploads');
    expect(statsRequests(requests)[0]?.params).toMatchObject({ period: '3m' });

    const select = await screen.findByLabelText('Facility');
    await vi.waitFor(() => expect(within(select).getAllByRole('option')).toHaveLength(3));
    expect(within(select).getByRole('option', { name: 'Old Annex (inactive)' })).toBeInTheDocument();
    await userEvent.selectOptions(select, 'f-1');
    await vi.waitFor(() => expect(statsRequests(requests).at(-1)?.params).toMatchObject({ period: '3m', facility: 'f-1' }));

    await userEvent.click(screen.getByRole('button', { name: 'Export CSV' }));
    await vi.waitFor(() => expect(clicked).toEqual(['relaypacs-stats-3m.csv']));
    const exported = requests.filter((request) => request.url === '/api/upload/stats/export');
    expect(exported).toHaveLength(1);
    expect(exported[0]?.authorization).toBe('Bearer access-2');
    // The export holds what the screen shows: same period, facility and time zone.
    expect(exported[0]?.params).toEqual({
      period: '3m',
      facility: 'f-1',
      tz: Intl.DateTimeFormat().resolvedOptions().timeZone,
    });
    expect(await screen.findByText('Saved relaypacs-stats-3m.csv.')).toBeInTheDocument();
    click.mockRestore();
  });
});
