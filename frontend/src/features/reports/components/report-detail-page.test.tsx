import { act, render, screen, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { MemoryRouter, Route, Routes } from 'react-router-dom';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

import { ReportDetailPage } from '@/features/reports/components/report-detail-page';
import type { ReportDetail } from '@/features/reports/types/reports';
import { clearSession, setSession } from '@/lib/api-client';
import { AuthProvider } from '@/lib/auth';
import { db } from '@/lib/db';
import type { EventStreamOptions } from '@/lib/notifications/event-stream';
import { NotificationsProvider } from '@/lib/notifications/notifications-context';
import { fakeApi, ME, tokenPair, type FakeRequest } from '@/testing/fake-api';
import type { Me } from '@/types/api';

const CLINICIAN: Me = { ...ME, role: 'clinician', permissions: ['upload:create', 'upload:read_own', 'report:read_own'] };
const RADIOLOGIST: Me = { ...ME, role: 'radiologist', permissions: ['report:read_own', 'report:read_all', 'report:update'] };

const HELD_BACK: ReportDetail['sync_warning'] = {
  code: 'patient_id_mismatch',
  message: 'A report in the PACS for this study belongs to another PatientID than the uploaded images; it was not attached.',
  sop_instance_uid: '1.2.826.0.1.3680043.8.498.77',
  detected_at: '2026-11-28T09:30:00Z',
};

function report(overrides: Partial<ReportDetail>): ReportDetail {
  return {
    id: 'r1',
    upload_id: 'u1',
    uploader_id: ME.id,
    facility_id: ME.facility_id,
    facility: ME.facility,
    study_instance_uid: '1.2.3',
    patient_name: 'DOE^JANE',
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
    notes: [],
    has_pdf_attachment: false,
    ...overrides,
  };
}

describe('ReportDetailPage', () => {
  let restore = () => {};
  let current: ReportDetail;
  let requests: FakeRequest[];
  let streams: EventStreamOptions[];
  let me = CLINICIAN;
  const createStream = (options: EventStreamOptions) => {
    streams.push(options);
    return { start: () => {}, stop: () => {} };
  };

  beforeEach(async () => {
    streams = [];
    me = CLINICIAN;
    await db.cache.clear();
    await setSession(tokenPair(1));
    const api = fakeApi((request) => {
      if (request.url === '/api/auth/refresh') return { status: 200, body: tokenPair(2) };
      if (request.url === '/api/auth/me') return { status: 200, body: me };
      if (request.url === '/api/notifications')
        return { status: 200, body: { items: [], total: 0, unread_count: 0, page: 1, page_size: 1 } };
      if (request.url === '/api/reports/r1' && request.method === 'GET') return { status: 200, body: current };
      if (request.url === '/api/reports/r1/download')
        return { status: 200, body: new Blob(['%PDF-1.7 test'], { type: 'application/pdf' }) };
      if (request.url === '/api/reports/r1/notes' && request.method === 'POST') {
        current = { ...current, status: 'PENDING', notes: [{ id: 'n1', author_id: ME.id, body: (request.body as { body: string }).body, upload_id: null, created_at: '2026-11-28T09:00:00Z' }] };
        return { status: 201, body: current.notes[0] };
      }
      if (request.url === '/api/reports/r1/assign') {
        current = { ...current, assignee_id: ME.id };
        return { status: 200, body: current };
      }
      if (request.url === '/api/reports/r1' && request.method === 'PATCH') {
        current = { ...current, ...(request.body as object) };
        return { status: 200, body: current };
      }
      if (request.url === '/api/reports/r1/status') {
        current = { ...current, status: (request.body as { status: ReportDetail['status'] }).status };
        return { status: 200, body: current };
      }
      return { status: 404, body: {} };
    });
    requests = api.requests;
    restore = api.restore;
  });

  afterEach(async () => {
    restore();
    vi.restoreAllMocks();
    await clearSession();
  });

  function renderPage() {
    return render(
      <AuthProvider>
        <NotificationsProvider createStream={createStream}>
          <MemoryRouter initialEntries={['/reports/r1']}>
            <Routes>
              <Route path="/reports/:reportId" element={<ReportDetailPage />} />
            </Routes>
          </MemoryRouter>
        </NotificationsProvider>
      </AuthProvider>,
    );
  }

  it('downloads the READY report as a Blob with the token in a header, never in a URL', async () => {
    current = report({ status: 'READY', impression: 'Normal study.', ready_at: '2026-11-28T09:00:00Z' });
    const created: Blob[] = [];
    URL.createObjectURL = vi.fn((blob: Blob) => {
      created.push(blob);
      return 'blob:http://localhost/abc';
    }) as typeof URL.createObjectURL;
    URL.revokeObjectURL = vi.fn();
    const click = vi.spyOn(HTMLAnchorElement.prototype, 'click').mockImplementation(() => {});
    renderPage();

    expect(await screen.findByText('Normal study.')).toBeInTheDocument();
    expect(screen.queryByLabelText('Your reply')).not.toBeInTheDocument();
    await userEvent.click(screen.getByRole('button', { name: 'Download PDF' }));
    expect(await screen.findByText('Downloaded report-r1.pdf.')).toBeInTheDocument();
    const download = requests.find((request) => request.url === '/api/reports/r1/download');
    expect(download?.authorization).toBe('Bearer access-2');
    expect(created).toHaveLength(1);
    expect(await created[0]!.text()).toMatch(/^%PDF/);
    expect(click).toHaveBeenCalledTimes(1);
    expect(requests.every((request) => !request.url.includes('access-'))).toBe(true);
  });

  it('no Download button before READY; a request for more data gets a reply form; report_updated refreshes', async () => {
    current = report({ status: 'ADDITIONAL_DATA_REQUIRED', additional_data_message: 'Please send the lateral view.' });
    renderPage();

    expect(await screen.findByText('Please send the lateral view.')).toBeInTheDocument();
    expect(screen.queryByRole('button', { name: 'Download PDF' })).not.toBeInTheDocument();
    await userEvent.type(screen.getByLabelText('Your reply'), 'Lateral view sent.');
    await userEvent.click(screen.getByRole('button', { name: 'Send reply' }));
    expect(await screen.findByText('Lateral view sent.')).toBeInTheDocument();
    expect(requests.find((request) => request.url === '/api/reports/r1/notes')?.body).toEqual({
      body: 'Lateral view sent.',
    });
    expect(screen.getByText('Being reported')).toBeInTheDocument();

    // The radiologist makes it READY: the page follows without a reload.
    current = { ...current, status: 'READY', impression: 'Normal study.' };
    act(() => {
      streams[0]!.onEvent({ type: 'report_updated', id: '7', data: { report_id: 'r1', status: 'READY' } });
    });
    expect(await screen.findByRole('button', { name: 'Download PDF' })).toBeInTheDocument();
    expect(screen.getByText('Normal study.')).toBeInTheDocument();
  });

  it('radiologists assign to themselves, write the impression and make it READY', async () => {
    me = RADIOLOGIST;
    current = report({ status: 'PENDING' });
    renderPage();
    await userEvent.click(await screen.findByRole('button', { name: 'Assign to me' }));
    expect(await screen.findByText('Assigned to you.')).toBeInTheDocument();
    expect(requests.find((request) => request.url === '/api/reports/r1/assign')?.body).toEqual({});
    await vi.waitFor(() => expect(screen.queryByRole('button', { name: 'Assign to me' })).not.toBeInTheDocument());

    await userEvent.type(screen.getByLabelText('Impression'), 'Normal study.');
    await userEvent.selectOptions(screen.getByLabelText('New status'), 'READY');
    await userEvent.click(screen.getByRole('button', { name: 'Change status' }));
    expect(await screen.findByRole('button', { name: 'Download PDF' })).toBeInTheDocument();
    const patch = requests.find((request) => request.method === 'PATCH');
    expect(patch?.body).toEqual({ impression: 'Normal study.' });
    const status = requests.find((request) => request.url === '/api/reports/r1/status');
    expect(status?.body).toEqual({ status: 'READY' });
    expect(requests.indexOf(patch!)).toBeLessThan(requests.indexOf(status!));
  });

  it('shows radiologists the PACS report the sync held back (another patient), with its instance UID', async () => {
    me = RADIOLOGIST;
    current = report({ status: 'ASSIGNED', sync_warning: HELD_BACK });
    renderPage();

    const notice = await screen.findByRole('note', { name: 'PACS report held back' });
    expect(within(notice).getByText(/belongs to another PatientID/)).toBeInTheDocument();
    expect(within(notice).getByText('1.2.826.0.1.3680043.8.498.77')).toBeInTheDocument();
    expect(within(notice).getByText(new Date('2026-11-28T09:30:00Z').toLocaleString())).toBeInTheDocument();
    expect(screen.getByTestId('findings')).toHaveTextContent('Not written yet.');
  });

  it('shows no sync warning to the uploader (the page checks report:update too)', async () => {
    current = report({ status: 'ASSIGNED', sync_warning: HELD_BACK });
    renderPage();
    expect(await screen.findByRole('heading', { name: /Report: DOE\^JANE/ })).toBeInTheDocument();
    expect(screen.queryByRole('note', { name: 'PACS report held back' })).not.toBeInTheDocument();
  });
});
