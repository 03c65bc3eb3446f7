import { render, screen, waitFor } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { MemoryRouter } from 'react-router-dom';
import { afterEach, describe, expect, it } from 'vitest';

import { UserDetailPage } from '@/features/admin/components/user-detail-page';
import type { AdminUser } from '@/features/admin/types/admin';
import { clearSession, setSession } from '@/lib/api-client';
import { AuthProvider } from '@/lib/auth';
import { db } from '@/lib/db';
import { fakeApi, ME, tokenPair, type FakeRequest } from '@/testing/fake-api';

const USER_ID = '0b9c3f4a-3333-4c4c-9999-000000000010';
const FACILITY = { id: '5b0c8a52-2222-4c4c-9999-000000000004', name: 'Rural Clinic 4', is_active: true };
const PENDING: AdminUser = {
  id: USER_ID,
  email: 'sam@example.org',
  username: 'sam.r',
  full_name: 'Sam Reyes',
  facility_id: null,
  facility: null,
  role: 'clinician',
  membership: { facility_id: FACILITY.id, facility: FACILITY.name, role: 'radiographer', requested_at: '2026-12-01T08:00:00Z' },
  is_active: true,
  email_verified: true,
  mfa_enabled: false,
  locked_until: null,
  created_at: '2026-12-01T07:00:00Z',
};
const ADMIN = { ...ME, role: 'admin' as const, permissions: [...ME.permissions, 'user:manage' as const] };

async function renderPage(handle: (request: FakeRequest) => { status: number; body?: unknown } | undefined) {
  await db.cache.clear();
  await setSession(tokenPair(1));
  const api = fakeApi((request) => {
    if (request.url === '/api/auth/refresh') return { status: 200, body: tokenPair(2) };
    if (request.url === '/api/auth/me') return { status: 200, body: ADMIN };
    if (request.url === '/api/facilities/all') return { status: 200, body: { items: [{ ...FACILITY, created_at: '', updated_at: '' }] } };
    if (request.url === `/api/users/${USER_ID}/sessions`) {
      return {
        status: 200,
        body: {
          items: [
            {
              id: 's1',
              created_at: '2026-12-01T09:00:00Z',
              last_seen_at: '2026-12-01T09:30:00Z',
              expires_at: '2026-12-08T09:00:00Z',
              ip: '203.0.113.7',
              device: 'Linux',
              browser: 'Chrome 131',
              current: false,
            },
          ],
        },
      };
    }
    return handle(request) ?? { status: 404, body: {} };
  });
  render(
    <MemoryRouter>
      <AuthProvider>
        <UserDetailPage userId={USER_ID} />
      </AuthProvider>
    </MemoryRouter>,
  );
  await screen.findByRole('heading', { name: 'Sam Reyes' });
  return api;
}

describe('UserDetailPage', () => {
  let restore = () => {};
  afterEach(async () => {
    restore();
    await clearSession();
  });

  it('approves a pending facility membership and shows the granted access', async () => {
    const api = await renderPage((request) => {
      if (request.method === 'GET' && request.url === `/api/users/${USER_ID}`) return { status: 200, body: PENDING };
      if (request.method === 'POST' && request.url === `/api/users/${USER_ID}/membership/approve`) {
        return {
          status: 200,
          body: { ...PENDING, membership: null, role: 'radiographer', facility: FACILITY.name, facility_id: FACILITY.id },
        };
      }
      return undefined;
    });
    restore = api.restore;
    expect(screen.getByText(/asks for access to/)).toHaveTextContent('Rural Clinic 4 as a radiographer');
    expect(await screen.findByText('203.0.113.7')).toBeInTheDocument();
    await userEvent.click(screen.getByRole('button', { name: 'Approve membership' }));
    expect(await screen.findByText('The membership was approved.')).toBeInTheDocument();
    expect(screen.queryByRole('button', { name: 'Approve membership' })).not.toBeInTheDocument();
    expect(screen.getByLabelText('Role')).toHaveValue('radiographer');
    expect(screen.getByLabelText('Facility')).toHaveValue(FACILITY.id);
  });

  it('renews a lost invitation for an invited account that has not signed in', async () => {
    const invited = { ...PENDING, membership: null, email_verified: false };
    const api = await renderPage((request) => {
      if (request.method === 'GET' && request.url === `/api/users/${USER_ID}`) return { status: 200, body: invited };
      if (request.method === 'POST' && request.url === `/api/users/${USER_ID}/invitation`) {
        return { status: 200, body: invited };
      }
      return undefined;
    });
    restore = api.restore;
    await userEvent.click(await screen.findByRole('button', { name: 'Send a new invitation' }));
    expect(await screen.findByText(/A new invitation was mailed to sam@example\.org/)).toBeInTheDocument();
    expect(api.requests.filter((r) => r.url === `/api/users/${USER_ID}/invitation`)).toHaveLength(1);
  });

  it('does not offer an invitation to an account that has signed in', async () => {
    const api = await renderPage((request) => {
      if (request.method === 'GET' && request.url === `/api/users/${USER_ID}`) {
        return { status: 200, body: { ...PENDING, membership: null } };
      }
      return undefined;
    });
    restore = api.restore;
    await screen.findByRole('button', { name: 'Disable account' });
    expect(screen.queryByRole('button', { name: 'Send a new invitation' })).not.toBeInTheDocument();
  });

  it('disables an account only after an explicit confirmation', async () => {
    const api = await renderPage((request) => {
      if (request.method === 'GET' && request.url === `/api/users/${USER_ID}`) {
        return { status: 200, body: { ...PENDING, membership: null } };
      }
      if (request.method === 'PATCH') return { status: 200, body: { ...PENDING, membership: null, is_active: false } };
      return undefined;
    });
    restore = api.restore;
    await userEvent.click(screen.getByRole('button', { name: 'Disable account' }));
    expect(api.requests.some((r) => r.method === 'PATCH')).toBe(false);
    await userEvent.click(screen.getByRole('button', { name: 'Cancel' }));
    expect(api.requests.some((r) => r.method === 'PATCH')).toBe(false);
    await userEvent.click(screen.getByRole('button', { name: 'Disable account' }));
    await userEvent.click(screen.getByRole('button', { name: 'Yes, disable sam.r' }));
    await waitFor(() => expect(screen.getByTestId('user-status')).toHaveTextContent('Disabled'));
    expect(api.requests.find((r) => r.method === 'PATCH')?.body).toEqual({ is_active: false });
    expect(screen.getByRole('button', { name: 'Enable account' })).toBeInTheDocument();
  });

  it('sends only what changed when the role or facility is saved (null leaves the facility)', async () => {
    const member = { ...PENDING, membership: null, facility_id: FACILITY.id, facility: FACILITY.name };
    const api = await renderPage((request) => {
      if (request.method === 'GET' && request.url === `/api/users/${USER_ID}`) return { status: 200, body: member };
      if (request.method === 'PATCH') return { status: 200, body: { ...member, facility_id: null, facility: null } };
      return undefined;
    });
    restore = api.restore;
    const save = screen.getByRole('button', { name: 'Save role and facility' });
    expect(save).toBeDisabled();
    await userEvent.selectOptions(screen.getByLabelText('Facility'), '');
    await userEvent.click(save);
    await screen.findByText(/signs in again/);
    expect(api.requests.find((r) => r.method === 'PATCH')?.body).toEqual({ facility_id: null });
  });
});
