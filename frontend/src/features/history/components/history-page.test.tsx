import { render, screen, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { MemoryRouter } from 'react-router-dom';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

import { HistoryPage } from '@/features/history/components/history-page';
import type { UploadDetail, UploadSummary } from '@/features/history/types/history';
import { clearSession, setSession } from '@/lib/api-client';
import { AuthProvider } from '@/lib/auth';
import { db, writeCache } from '@/lib/db';
import { fakeApi, ME, tokenPair } from '@/testing/fake-api';

function upload(overrides: Partial<UploadSummary>): UploadSummary {
  return {
    id: 'u-1',
    user_id: ME.id,
    facility_id: ME.facility_id,
    facility: ME.facility,
    patient_name: 'DOE^JANE',
    study_date: '2026-01-15',
    modality: 'CT',
    service_level: 'ROUTINE',
    notes: null,
    state: 'forwarded',
    chunk_size: 1048576,
    file_count: 6,
    total_bytes: 6 * 1024 * 1024,
    created_at: '2026-11-28T08:00:00Z',
    expires_at: '2026-11-29T08:00:00Z',
    completed_at: '2026-11-28T08:01:00Z',
    study_instance_uid: '1.2.3',
    warnings: [],
    skipped_files: [],
    study_conflict_overridden: false,
    ...overrides,
  };
}

const FAILED_DETAIL: UploadDetail = {
  ...upload({ id: 'u-2', patient_name: 'ROE^RICHARD', state: 'failed' }),
  files: [],
  instance_count: 6,
  forwarding: [
    {
      id: 'j-1',
      destination: 'orthanc',
      role: 'active',
      state: 'failed',
      attempts: 5,
      next_attempt_at: '2026-11-28T08:05:00Z',
      last_error: 'PACS refused the study: 403 Forbidden',
      delivered_at: null,
      receipt_id: null,
      instances_stored: 0,
      instances_total: 6,
      receipts: [
        {
          id: 'r-1',
          destination: 'orthanc',
          attempt: 5,
          outcome: 'rejected',
          http_status: 403,
          referenced: [],
          failed: [{}],
          retrieve_url: null,
          instances_sent: 6,
          bytes_sent: 100,
          error: 'Forbidden',
          started_at: '2026-11-28T08:04:00Z',
          duration_ms: 12,
          delivered: false,
        },
      ],
    },
  ],
};

function renderHistory() {
  return render(
    <AuthProvider>
      <MemoryRouter>
        <HistoryPage />
      </MemoryRouter>
    </AuthProvider>,
  );
}

describe('HistoryPage', () => {
  let restore = () => {};

  beforeEach(async () => {
    await db.cache.clear();
    await setSession(tokenPair(1));
  });

  afterEach(async () => {
    restore();
    vi.restoreAllMocks();
    await clearSession();
  });

  it('lists uploads with their state and shows the failure reason and PACS receipts', async () => {
    restore = fakeApi((request) => {
      if (request.url === '/api/auth/refresh') return { status: 200, body: tokenPair(2) };
      if (request.url === '/api/auth/me') return { status: 200, body: ME };
      if (request.url === '/api/uploads')
        return { status: 200, body: { items: [upload({}), FAILED_DETAIL], total: 2, page: 1, page_size: 50 } };
      if (request.url === '/api/upload/u-2') return { status: 200, body: FAILED_DETAIL };
      return { status: 404, body: {} };
    }).restore;
    renderHistory();

    const list = await screen.findByRole('list', { name: 'Uploads' });
    const items = within(list).getAllByRole('listitem');
    expect(items).toHaveLength(2);
    expect(within(items[0]!).getByText('Forwarded')).toBeInTheDocument();
    expect(within(items[1]!).getByText('Failed')).toBeInTheDocument();
    // Failed uploads open their details by themselves.
    expect(await within(items[1]!).findByText(/PACS refused the study: 403 Forbidden/)).toBeInTheDocument();
    expect(within(items[1]!).getByRole('table', { name: /PACS receipts for orthanc/ })).toHaveTextContent('HTTP 403');
    expect(screen.queryByText(/Viewing cached data/)).not.toBeInTheDocument();

    await userEvent.click(within(items[0]!).getByRole('button', { name: /Show details/ }));
    expect(within(items[0]!).getByRole('button', { name: /Hide details/ })).toHaveAttribute('aria-expanded', 'true');
  });

  it('offline, shows the last list it saw with a "viewing cached data" badge', async () => {
    vi.spyOn(navigator, 'onLine', 'get').mockReturnValue(false);
    await db.auth.put({ key: 'me', value: ME, updatedAt: Date.now() });
    await writeCache(`history:uploads:${ME.id}`, { items: [upload({ state: 'forwarding' })], total: 1, page: 1, page_size: 50 });
    const api = fakeApi(() => 'network-error');
    restore = api.restore;
    renderHistory();

    expect(await screen.findByText(/Viewing cached data/)).toBeInTheDocument();
    expect(screen.getByText('Forwarding')).toBeInTheDocument();
    expect(api.requests.filter((r) => r.url === '/api/uploads')).toHaveLength(0);
  });

  it('offline with nothing cached, shows the offline page', async () => {
    vi.spyOn(navigator, 'onLine', 'get').mockReturnValue(false);
    await db.auth.put({ key: 'me', value: ME, updatedAt: Date.now() });
    restore = fakeApi(() => 'network-error').restore;
    renderHistory();
    expect(await screen.findByRole('heading', { name: 'You are offline' })).toBeInTheDocument();
  });
});
