import { render, screen } from '@testing-library/react';
import { MemoryRouter, Route, Routes } from 'react-router-dom';
import { afterEach, describe, expect, it } from 'vitest';

import { HomeRoute } from '@/app/routes/home';
import { RequireAuth } from '@/components/layout/require-auth';
import { clearSession, setSession } from '@/lib/api-client';
import { AuthProvider } from '@/lib/auth';
import { fakeApi, ME, tokenPair } from '@/testing/fake-api';
import type { Me } from '@/types/api';

async function landingOf(me: Me): Promise<string> {
  await setSession(tokenPair(1));
  const api = fakeApi((request) => {
    if (request.url === '/api/auth/refresh') return { status: 200, body: tokenPair(2) };
    if (request.url === '/api/auth/me') return { status: 200, body: me };
    return { status: 404, body: {} };
  });
  render(
    <AuthProvider>
      <MemoryRouter initialEntries={['/']}>
        <Routes>
          <Route element={<RequireAuth />}>
            <Route path="/" element={<HomeRoute />} />
            <Route path="/upload" element={<h1>Upload screen</h1>} />
            <Route path="/dashboard" element={<h1>Dashboard screen</h1>} />
            <Route path="/reports" element={<h1>Reports screen</h1>} />
          </Route>
        </Routes>
      </MemoryRouter>
    </AuthProvider>,
  );
  const heading = await screen.findByRole('heading');
  api.restore();
  return heading.textContent ?? '';
}

describe('HomeRoute', () => {
  afterEach(async () => {
    await clearSession();
  });

  it('sends an admin to the dashboard', async () => {
    expect(await landingOf({ ...ME, role: 'admin', permissions: [...ME.permissions, 'analytics:export'] })).toBe(
      'Dashboard screen',
    );
  });

  it('sends a user who uploads to the upload screen', async () => {
    expect(await landingOf(ME)).toBe('Upload screen');
  });

  it('sends a radiologist (no upload permission) to the reports', async () => {
    expect(
      await landingOf({ ...ME, role: 'radiologist', permissions: ['report:read_own', 'report:read_all', 'report:update'] }),
    ).toBe('Reports screen');
  });
});
