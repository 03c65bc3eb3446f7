import { render, screen, within } from '@testing-library/react';
import { MemoryRouter } from 'react-router-dom';
import { afterEach, describe, expect, it } from 'vitest';

import { AppLayout } from '@/components/layout/app-layout';
import { clearSession, setSession } from '@/lib/api-client';
import { AuthProvider } from '@/lib/auth';
import { db } from '@/lib/db';
import { fakeApi, ME, tokenPair } from '@/testing/fake-api';
import type { Me } from '@/types/api';

async function renderSignedInAs(me: Me) {
  await db.cache.clear();
  await setSession(tokenPair(1));
  const api = fakeApi((request) => {
    if (request.url === '/api/auth/refresh') return { status: 200, body: tokenPair(2) };
    if (request.url === '/api/auth/me') return { status: 200, body: me };
    return { status: 404, body: {} };
  });
  render(
    <MemoryRouter>
      <AuthProvider>
        <AppLayout>
          <p>Page</p>
        </AppLayout>
      </AuthProvider>
    </MemoryRouter>,
  );
  await screen.findByRole('button', { name: /Sign out/ });
  return api;
}

describe('AppLayout: a pending facility membership', () => {
  let restore = () => {};
  afterEach(async () => {
    restore();
    await clearSession();
  });

  it('tells a user whose facility access awaits an administrator what they can see meanwhile', async () => {
    restore = (
      await renderSignedInAs({
        ...ME,
        role: 'clinician',
        facility: null,
        facility_id: null,
        membership: {
          facility: 'Rural Clinic 4',
          facility_id: ME.facility_id,
          role: 'radiographer',
          requested_at: '2026-12-01T08:00:00Z',
        },
      })
    ).restore;
    expect(
      screen.getByText(/request for access to Rural Clinic 4 as a radiographer is waiting for an administrator/),
    ).toHaveTextContent('own uploads and reports only');
  });

  it('says nothing when there is no pending request', async () => {
    restore = (await renderSignedInAs(ME)).restore;
    expect(screen.queryByText(/waiting for an administrator/)).not.toBeInTheDocument();
  });
});

describe('AppLayout: navigation', () => {
  let restore = () => {};
  afterEach(async () => {
    restore();
    await clearSession();
  });

  it('gives every signed-in user the Dashboard entry (their own scope)', async () => {
    restore = (await renderSignedInAs({ ...ME, role: 'clinician', permissions: ['upload:create', 'upload:read_own'] }))
      .restore;
    const nav = screen.getByRole('navigation', { name: 'Main' });
    expect(within(nav).getByRole('link', { name: 'Dashboard' })).toHaveAttribute('href', '/dashboard');
  });
});

describe('AppLayout: navigation follows the permissions of /api/auth/me', () => {
  let restore = () => {};
  afterEach(async () => {
    restore();
    await clearSession();
  });

  const links = () =>
    within(screen.getByRole('navigation', { name: 'Main' }))
      .getAllByRole('link')
      .map((link) => link.textContent);

  it('hides Upload (and History) from a radiologist and shows no Admin entry', async () => {
    restore = (
      await renderSignedInAs({
        ...ME,
        role: 'radiologist',
        permissions: ['report:read_own', 'report:read_all', 'report:update'],
      })
    ).restore;
    expect(links()).toEqual(['Reports', 'Dashboard', 'Settings']);
  });

  it('shows an admin the Admin entry, leading to the admin console', async () => {
    restore = (
      await renderSignedInAs({
        ...ME,
        role: 'admin',
        permissions: ['upload:create', 'upload:read_all', 'report:read_all', 'user:manage', 'audit:read'],
      })
    ).restore;
    expect(links()).toEqual(['Upload', 'History', 'Reports', 'Dashboard', 'Admin', 'Settings']);
    const nav = screen.getByRole('navigation', { name: 'Main' });
    expect(within(nav).getByRole('link', { name: 'Admin' })).toHaveAttribute('href', '/admin');
  });
});
