import { render, screen } from '@testing-library/react';
import { MemoryRouter, Route, Routes } from 'react-router-dom';
import { afterEach, describe, expect, it } from 'vitest';

import { RequirePermission } from '@/components/layout/require-permission';
import { clearSession, setSession } from '@/lib/api-client';
import { AuthProvider } from '@/lib/auth';
import { fakeApi, ME, tokenPair } from '@/testing/fake-api';
import type { Me } from '@/types/api';

async function visitAdminAs(me: Me) {
  await setSession(tokenPair(1));
  const api = fakeApi((request) => {
    if (request.url === '/api/auth/refresh') return { status: 200, body: tokenPair(2) };
    if (request.url === '/api/auth/me') return { status: 200, body: me };
    return { status: 404, body: {} };
  });
  render(
    <AuthProvider>
      <MemoryRouter initialEntries={['/admin/users']}>
        <Routes>
          <Route element={<RequirePermission permission="user:manage" />}>
            <Route path="/admin/users" element={<h1>Users console</h1>} />
          </Route>
        </Routes>
      </MemoryRouter>
    </AuthProvider>,
  );
  const heading = await screen.findByRole('heading');
  api.restore();
  return heading.textContent;
}

describe('RequirePermission', () => {
  afterEach(async () => {
    await clearSession();
  });

  it('tells a user without the permission that the page is not allowed', async () => {
    expect(await visitAdminAs(ME)).toBe('Not allowed');
    expect(screen.queryByText('Users console')).not.toBeInTheDocument();
  });

  it('lets an admin in', async () => {
    expect(await visitAdminAs({ ...ME, role: 'admin', permissions: [...ME.permissions, 'user:manage'] })).toBe(
      'Users console',
    );
  });
});
