import { act, render, screen, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { MemoryRouter, Route, Routes } from 'react-router-dom';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

import { ReportsPage } from '@/features/reports/components/reports-page';
import type { Report } from '@/features/reports/types/reports';
import { clearSession, setSession } from '@/lib/api-client';
import { AuthProvider } from '@/lib/auth';
import { db } from '@/lib/db';
import type { EventStreamOptions } from '@/lib/notifications/event-stream';
import { NotificationsProvider } from '@/lib/notifications/notifications-context';
import { fakeApi, ME, tokenPair, type FakeRequest } from '@/testing/fake-api';

function report(n: number, overrides: Partial<Report> = {}): Report {
  return {
    id: `r${n}`,
    upload_id: `u${n}`,
    uploader_id: ME.id,
    facility_id: ME.facility_id,
    facility: ME.facility,
    study_instance_uid: `1.2.${n}`,
    patient_name: `PATIENT^${n}`,
    study_date: '2026-01-15',
    modality: 'CT',
    service_level: 'ROUTINE',
    destination: 'orthanc',
    status: 'ASSIGNED',
    assignee_id: null,
    findings: null,
    impression: null,
    additional_data_message: null,
    pacs_report_kind: null,
    pacs_report_text: null,
    reported_by_id: null,
    created_at: '2026-11-28T08:00:00Z',
    updated_at: '2026-11-28T08:00:00Z',
    ready_at: null,
    last_synced_at: null,
    ...overrides,
  };
}

describe('ReportsPage', () => {
  let restore = () => {};
  let requests: FakeRequest[];
  let all: Report[];
  let streams: EventStreamOptions[];
  const createStream = (options: EventStreamOptions) => {
    streams.push(options);
    return { start: () => {}, stop: () => {} };
  };

  beforeEach(async () => {
    streams = [];
    all = Array.from({ length: 25 }, (_, i) => report(i + 1, { status: i === 0 ? 'READY' : 'ASSIGNED' }));
    await db.cache.clear();
    await setSession(tokenPair(1));
    const api = fakeApi((request) => {
      if (request.url === '/api/auth/refresh') return { status: 200, body: tokenPair(2) };
      if (request.url === '/api/auth/me') return { status: 200, body: ME };
      if (request.url === '/api/notifications')
        return { status: 200, body: { items: [], total: 0, unread_count: 0, page: 1, page_size: 1 } };
      if (request.url === '/api/reports') {
        const { page = 1, page_size = 20, status } = (request.params ?? {}) as { page?: number; page_size?: number; status?: string };
        const matching = all.filter((item) => !status || item.status === status);
        const items = matching.slice((page - 1) * page_size, page * page_size);
        return { status: 200, body: { items, total: matching.length, page, page_size } };
      }
      return { status: 404, body: {} };
    });
    requests = api.requests;
    restore = api.restore;
  });

  afterEach(async () => {
    restore();
    await clearSession();
  });

  function renderPage() {
    return render(
      <AuthProvider>
        <NotificationsProvider createStream={createStream}>
          <MemoryRouter initialEntries={['/reports']}>
            <Routes>
              <Route path="/reports" element={<ReportsPage />} />
            </Routes>
          </MemoryRouter>
        </NotificationsProvider>
      </AuthProvider>,
    );
  }

  it('pages through my reports, filters by status and follows report_updated live', async () => {
    renderPage();
    let list = await screen.findByRole('list', { name: 'Reports' });
    expect(within(list).getAllByRole('listitem')).toHaveLength(20);
    expect(within(list).getByRole('link', { name: /PATIENT\^1 · CT/ })).toHaveAttribute('href', '/reports/r1');
    expect(screen.getByText('Page 1 of 2')).toBeInTheDocument();

    await userEvent.click(screen.getByRole('button', { name: 'Next' }));
    expect(await screen.findByText('Page 2 of 2')).toBeInTheDocument();
    list = screen.getByRole('list', { name: 'Reports' });
    await vi.waitFor(() => expect(within(list).getAllByRole('listitem')).toHaveLength(5));

    await userEvent.selectOptions(screen.getByLabelText('Status'), 'READY');
    await vi.waitFor(() =>
      expect(within(screen.getByRole('list', { name: 'Reports' })).getAllByRole('listitem')).toHaveLength(1),
    );
    expect(requests.at(-1)?.params).toMatchObject({ page: 1, status: 'READY' });

    // Another report becomes READY: the filtered list picks it up without a reload.
    await vi.waitFor(() => expect(streams).toHaveLength(1));
    all[1] = { ...all[1]!, status: 'READY' };
    act(() => {
      streams[0]!.onEvent({ type: 'report_updated', id: '5', data: { report_id: 'r2', status: 'READY' } });
      streams[0]!.onEvent({ type: 'report_updated', id: '6', data: { report_id: 'r2', status: 'READY' } });
    });
    await vi.waitFor(() =>
      expect(within(screen.getByRole('list', { name: 'Reports' })).getAllByRole('listitem')).toHaveLength(2),
    );
    // Two events in a burst: one reload.
    expect(requests.filter((request) => request.url === '/api/reports' && request.params?.status === 'READY')).toHaveLength(2);
  });

  it('flags a report whose PACS report the sync held back', async () => {
    all[2] = report(3, {
      sync_warning: {
        code: 'patient_name_mismatch',
        message: 'A report in the PACS for this study names another patient than the uploaded images; it was not attached.',
        sop_instance_uid: '1.2.3.9',
        detected_at: '2026-11-28T09:30:00Z',
      },
    });
    renderPage();
    const list = await screen.findByRole('list', { name: 'Reports' });
    const flagged = within(list).getAllByText('PACS report held back');
    expect(flagged).toHaveLength(1);
    expect(flagged[0]!.closest('li')).toHaveAttribute('data-report-id', 'r3');
    expect(flagged[0]).toHaveAttribute('title', expect.stringMatching(/names another patient/));
  });
});
