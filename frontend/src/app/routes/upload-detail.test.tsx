import { render, screen } from '@testing-library/react';
import { MemoryRouter, Route, Routes } from 'react-router-dom';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { UploadDetailRoute } from '@/app/routes/upload-detail';
import type { UploadDetail } from '@/features/history/types/history';
import { clearSession, setSession } from '@/lib/api-client';
import { AuthProvider } from '@/lib/auth';
import { db } from '@/lib/db';
import { NotificationsProvider } from '@/lib/notifications/notifications-context';
import { fakeApi, ME, tokenPair } from '@/testing/fake-api';

const DETAIL: UploadDetail = {
  id: 'u-9',
  user_id: ME.id,
  facility_id: ME.facility_id,
  facility: ME.facility,
  patient_name: 'DOE^JANE',
  study_date: '2026-01-15',
  modality: 'MR',
  service_level: 'STAT',
  notes: null,
  state: 'forwarded',
  chunk_size: 1048576,
  file_count: 3,
  total_bytes: 3000,
  created_at: '2026-11-28T08:00:00Z',
  expires_at: '2026-11-29T08:00:00Z',
  completed_at: '2026-11-28T08:01:00Z',
  study_instance_uid: '1.2.9',
  warnings: [],
  skipped_files: [],
  study_conflict_overridden: false,
  files: [],
  instance_count: 3,
  forwarding: [],
};

describe('UploadDetailRoute (/history/:uploadId, where notifications about an upload lead)', () => {
  let restore = () => {};

  beforeEach(async () => {
    await db.cache.clear();
    await setSession(tokenPair(1));
    restore = fakeApi((request) => {
      if (request.url === '/api/auth/refresh') return { status: 200, body: tokenPair(2) };
      if (request.url === '/api/auth/me') return { status: 200, body: ME };
      if (request.url === '/api/notifications')
        return { status: 200, body: { items: [], total: 0, unread_count: 0, page: 1, page_size: 1 } };
      if (request.url === '/api/upload/u-9') return { status: 200, body: DETAIL };
      if (request.url === '/api/reports/upload/u-9')
        return { status: 200, body: { id: 'r-9', upload_id: 'u-9', status: 'PENDING', notes: [] } };
      return { status: 404, body: {} };
    }).restore;
  });

  afterEach(async () => {
    restore();
    await clearSession();
  });

  it('shows the upload, its state and a link to its report', async () => {
    render(
      <AuthProvider>
        <NotificationsProvider createStream={() => ({ start: () => {}, stop: () => {} })}>
          <MemoryRouter initialEntries={['/history/u-9']}>
            <Routes>
              <Route path="/history/:uploadId" element={<UploadDetailRoute />} />
            </Routes>
          </MemoryRouter>
        </NotificationsProvider>
      </AuthProvider>,
    );
    expect(await screen.findByRole('heading', { name: 'DOE^JANE · MR · 2026-01-15' })).toBeInTheDocument();
    expect(screen.getByText('Forwarded')).toBeInTheDocument();
    expect(await screen.findByRole('link', { name: 'Open the report' })).toHaveAttribute('href', '/reports/r-9');
    expect(screen.getByText('Being reported')).toBeInTheDocument();
    expect(await screen.findByText('3 (3 DICOM instances)')).toBeInTheDocument();
  });
});
