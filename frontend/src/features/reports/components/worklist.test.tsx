import { render, screen, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { MemoryRouter, Route, Routes, useLocation } from 'react-router-dom';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

import { ReportsPage } from '@/features/reports/components/reports-page';
import type { Report } from '@/features/reports/types/reports';
import { clearSession, setSession } from '@/lib/api-client';
import { AuthProvider } from '@/lib/auth';
import { db } from '@/lib/db';
import { NotificationsProvider } from '@/lib/notifications/notifications-context';
import { fakeApi, ME, tokenPair, type FakeRequest } from '@/testing/fake-api';
import type { Me } from '@/types/api';

const RADIOLOGIST: Me = {
  ...ME,
  role: 'radiologist',
  permissions: ['report:read_own', 'report:read_facility', 'report:read_all', 'report:update'],
};
const PRIORITY = { STAT: 0, EMERGENCY: 1, ROUTINE: 2 } as const;

function report(n: number, overrides: Partial<Report> = {}): Report {
  return {
    id: `r${n}`,
    upload_id: `u${n}`,
    uploader_id: 'someone-else',
    facility_id: null,
    facility: 'North Clinic',
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
    created_at: `2026-11-28T0${n}:00:00Z`,
    updated_at: `2026-11-28T0${n}:00:00Z`,
    ready_at: null,
    last_synced_at: null,
    ...overrides,
  };
}

function Location() {
  const location = useLocation();
  return <output aria-label="Location">{location.search}</output>;
}

describe('the radiologist worklist', () => {
  let restore = () => {};
  let requests: FakeRequest[];
  let all: Report[];
  let me: Me;
  let assignFails: boolean;

  beforeEach(async () => {
    me = RADIOLOGIST;
    assignFails = false;
    all = [
      report(1, { service_level: 'ROUTINE', modality: 'MR' }),
      report(2, { service_level: 'STAT', modality: 'CT' }),
      report(3, { service_level: 'EMERGENCY', modality: 'CT', assignee_id: RADIOLOGIST.id, status: 'PENDING' }),
      report(4, { service_level: 'STAT', modality: 'CT', status: 'READY' }),
    ];
    await db.cache.clear();
    await setSession(tokenPair(1));
    const api = fakeApi((request) => {
      if (request.url === '/api/auth/refresh') return { status: 200, body: tokenPair(2) };
      if (request.url === '/api/auth/me') return { status: 200, body: me };
      if (request.url === '/api/notifications')
        return { status: 200, body: { items: [], total: 0, unread_count: 0, page: 1, page_size: 1 } };
      const assign = /^\/api\/reports\/(r\d)\/assign$/.exec(request.url);
      if (assign && request.method === 'POST') {
        if (assignFails)
          return { status: 409, body: { error: { code: 'report_closed', message: 'The report is READY; it can no longer be changed.' } } };
        const index = all.findIndex((item) => item.id === assign[1]);
        all[index] = { ...all[index]!, assignee_id: me.id, updated_at: '2026-11-29T10:00:00Z' };
        return { status: 200, body: { ...all[index], notes: [], has_pdf_attachment: false } };
      }
      if (request.url === '/api/reports') {
        const p = (request.params ?? {}) as Record<string, string | number | undefined>;
        let items = all.filter(
          (item) =>
            (!p.status || item.status === p.status) &&
            (!p.modality || item.modality === p.modality) &&
            (!p.service_level || item.service_level === p.service_level) &&
            (p.assigned !== 'unassigned' || item.assignee_id === null) &&
            (p.assigned !== 'me' || item.assignee_id === me.id),
        );
        if (p.sort === 'priority') {
          items = [...items].sort(
            (a, b) => PRIORITY[a.service_level] - PRIORITY[b.service_level] || a.created_at.localeCompare(b.created_at),
          );
        }
        // The API's own page size (50), never one the page asked for.
        return { status: 200, body: { items, total: items.length, page: Number(p.page ?? 1), page_size: 50 } };
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

  function renderAt(url: string) {
    return render(
      <AuthProvider>
        <NotificationsProvider createStream={() => ({ start: () => {}, stop: () => {} })}>
          <MemoryRouter initialEntries={[url]}>
            <Routes>
              <Route
                path="/reports"
                element={
                  <>
                    <ReportsPage />
                    <Location />
                  </>
                }
              />
            </Routes>
          </MemoryRouter>
        </NotificationsProvider>
      </AuthProvider>,
    );
  }

  const reportRequests = () => requests.filter((request) => request.url === '/api/reports');
  const rows = () => within(screen.getByRole('list', { name: 'Reports' })).getAllByRole('listitem');

  it('shows STAT first by default for a radiologist, with the page size the API gives', async () => {
    renderAt('/reports');
    await screen.findByRole('list', { name: 'Reports' });
    expect(screen.getByRole('heading', { name: 'Worklist' })).toBeInTheDocument();
    expect(screen.getByLabelText('Sort by')).toHaveValue('priority');
    expect(reportRequests().at(-1)?.params).toEqual({ page: 1, sort: 'priority' });
    expect(rows().map((row) => row.dataset.serviceLevel)).toEqual(['STAT', 'STAT', 'EMERGENCY', 'ROUTINE']);
    expect(screen.getByLabelText('Location')).toHaveTextContent(/^$/);
    expect(screen.queryByRole('navigation', { name: 'Report pages' })).not.toBeInTheDocument();
  });

  it('newest first by default for an uploader, who has no assignment filter or assign button', async () => {
    me = ME;
    all = all.map((item) => ({ ...item, uploader_id: ME.id }));
    renderAt('/reports');
    await screen.findByRole('list', { name: 'Reports' });
    expect(reportRequests().at(-1)?.params).toEqual({ page: 1, sort: '-date' });
    expect(screen.getByRole('heading', { name: 'Reports' })).toBeInTheDocument();
    expect(screen.queryByLabelText('Assignment')).not.toBeInTheDocument();
    expect(screen.queryByRole('button', { name: 'Assign to me' })).not.toBeInTheDocument();
  });

  it('keeps filters and sort in the query string, and starts again at page 1 on a change', async () => {
    renderAt('/reports?assigned=unassigned&modality=CT&page=2');
    await vi.waitFor(() => expect(reportRequests().length).toBeGreaterThan(0));
    expect(screen.getByLabelText('Assignment')).toHaveValue('unassigned');
    expect(screen.getByLabelText('Modality')).toHaveValue('CT');
    expect(reportRequests().at(-1)?.params).toEqual({ page: 2, sort: 'priority', modality: 'CT', assigned: 'unassigned' });

    await userEvent.selectOptions(screen.getByLabelText('Service level'), 'STAT');
    await vi.waitFor(() =>
      expect(screen.getByLabelText('Location')).toHaveTextContent('?modality=CT&service_level=STAT&assigned=unassigned'),
    );
    expect(reportRequests().at(-1)?.params).toEqual({
      page: 1,
      sort: 'priority',
      modality: 'CT',
      service_level: 'STAT',
      assigned: 'unassigned',
    });
    await vi.waitFor(() => expect(rows().map((row) => row.dataset.reportId)).toEqual(['r2', 'r4']), { timeout: 5000 });

    await userEvent.selectOptions(screen.getByLabelText('Sort by'), '-date');
    await vi.waitFor(() => expect(screen.getByLabelText('Location')).toHaveTextContent(/sort=-date/));

    await userEvent.click(screen.getByRole('button', { name: 'Clear filters' }));
    await vi.waitFor(() => expect(screen.getByLabelText('Location')).toHaveTextContent(/^\?sort=-date$/));
    expect(screen.getByLabelText('Assignment')).toHaveValue('');
  });

  it('assigns a report to me in one click and updates its row in place', async () => {
    renderAt('/reports?assigned=unassigned');
    await screen.findByRole('list', { name: 'Reports' });
    const stat = rows().find((row) => row.dataset.reportId === 'r2')!;
    expect(stat).toHaveAttribute('data-assigned', 'none');
    // A READY report cannot be taken.
    const ready = rows().find((row) => row.dataset.reportId === 'r4')!;
    expect(within(ready).queryByRole('button', { name: 'Assign to me' })).not.toBeInTheDocument();

    await userEvent.click(within(stat).getByRole('button', { name: 'Assign to me' }));

    const posts = requests.filter((request) => request.method === 'POST' && request.url.startsWith('/api/reports'));
    expect(posts.map((request) => [request.url, request.body])).toEqual([['/api/reports/r2/assign', {}]]);
    await vi.waitFor(() => expect(stat).toHaveAttribute('data-assigned', 'me'), { timeout: 5000 });
    expect(within(stat).getByText('Assigned to you')).toBeInTheDocument();
    expect(within(stat).queryByRole('button', { name: 'Assign to me' })).not.toBeInTheDocument();
    // The button is gone: focus moves to the report's link instead of getting lost.
    await vi.waitFor(() => expect(within(stat).getByRole('link')).toHaveFocus(), { timeout: 5000 });
    expect(screen.getByText(/Assigned to you: CT STAT report/)).toBeInTheDocument();

    await userEvent.selectOptions(screen.getByLabelText('Assignment'), 'me');
    await vi.waitFor(() => expect(rows().map((row) => row.dataset.reportId)).toEqual(['r2', 'r3']), { timeout: 5000 });
  });

  it('shows why an assignment failed on its row', async () => {
    assignFails = true;
    all = [all[1]!];
    renderAt('/reports');
    const list = await screen.findByRole('list', { name: 'Reports' });
    await userEvent.click(within(list).getByRole('button', { name: 'Assign to me' }));
    expect(await within(list).findByRole('alert')).toHaveTextContent('no longer be changed');
    expect(within(list).getByRole('listitem')).toHaveAttribute('data-assigned', 'none');
  });
});
