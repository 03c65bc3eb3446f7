import { render, screen, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { MemoryRouter, Route, Routes, useLocation } from 'react-router-dom';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

import { SessionsSection, SIGNED_OUT_EVERYWHERE_NOTICE } from '@/features/account/components/sessions-section';
import type { AccountSession } from '@/features/account/types/account';
import { clearSession, setSession } from '@/lib/api-client';
import { AuthProvider } from '@/lib/auth';
import { fakeApi, ME, tokenPair, type FakeRequest } from '@/testing/fake-api';

function session(id: string, overrides: Partial<AccountSession> = {}): AccountSession {
  return {
    id,
    created_at: '2026-12-01T08:00:00Z',
    last_seen_at: '2026-12-02T01:00:00Z',
    expires_at: '2026-12-08T08:00:00Z',
    ip: '203.0.113.7',
    device: 'Linux',
    browser: 'Chrome 131',
    current: false,
    ...overrides,
  };
}

function LoginProbe() {
  const location = useLocation();
  return <p>login page: {(location.state as { notice?: string } | null)?.notice}</p>;
}

describe('SessionsSection', () => {
  let restore = () => {};
  let requests: FakeRequest[];
  let items: AccountSession[];

  beforeEach(async () => {
    items = [
      session('s-here', { current: true, device: 'Mac', browser: 'Safari 17' }),
      session('s-phone', { device: 'iPhone', browser: 'Mobile Safari 17', ip: '198.51.100.4' }),
      session('s-desk'),
    ];
    await setSession(tokenPair(1));
    const api = fakeApi((request) => {
      if (request.url === '/api/auth/refresh') return { status: 200, body: tokenPair(2) };
      if (request.url === '/api/auth/me') return { status: 200, body: ME };
      if (request.url === '/api/auth/logout') return { status: 401, body: { error: { code: 'invalid_token', message: 'x' } } };
      if (request.url === '/api/auth/sessions') return { status: 200, body: { items } };
      const one = /^\/api\/auth\/sessions\/(.+)$/.exec(request.url);
      if (request.method === 'DELETE' && one) {
        items = items.filter((item) => item.id !== one[1]);
        return { status: 204 };
      }
      if (request.url === '/api/auth/sessions/revoke-all') {
        const everyone = request.params?.include_current === true;
        const revoked = items.filter((item) => everyone || !item.current).length;
        items = everyone ? [] : items.filter((item) => item.current);
        return { status: 200, body: { revoked } };
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

  function renderSection() {
    return render(
      <AuthProvider>
        <MemoryRouter initialEntries={['/settings/sessions']}>
          <Routes>
            <Route path="/settings/sessions" element={<SessionsSection />} />
            <Route path="/login" element={<LoginProbe />} />
          </Routes>
        </MemoryRouter>
      </AuthProvider>,
    );
  }

  it('lists every session with device, browser, IP and dates, and marks this device', async () => {
    renderSection();
    const list = await screen.findByRole('list', { name: 'Active sessions' });
    const rows = within(list).getAllByRole('listitem');
    expect(rows).toHaveLength(3);
    expect(within(rows[0]!).getByText('Safari 17 on Mac')).toBeInTheDocument();
    expect(within(rows[0]!).getByText('This device')).toBeInTheDocument();
    expect(within(rows[0]!).queryByRole('button')).not.toBeInTheDocument();
    expect(within(rows[1]!).getByText('198.51.100.4')).toBeInTheDocument();
    expect(within(rows[1]!).queryByText('This device')).not.toBeInTheDocument();
    expect(within(rows[1]!).getAllByRole('time')).toHaveLength(2);
  });

  it('signs out one other session', async () => {
    renderSection();
    await userEvent.click(await screen.findByRole('button', { name: 'Sign out Mobile Safari 17 on iPhone (IP 198.51.100.4)' }));
    expect(await screen.findByText('Signed out Mobile Safari 17 on iPhone.')).toBeInTheDocument();
    expect(requests.some((request) => request.method === 'DELETE' && request.url === '/api/auth/sessions/s-phone')).toBe(true);
    await vi.waitFor(() => expect(within(screen.getByRole('list', { name: 'Active sessions' })).getAllByRole('listitem')).toHaveLength(2));
  });

  it('signs out all other devices and stays signed in here', async () => {
    renderSection();
    await screen.findByRole('list', { name: 'Active sessions' });
    await userEvent.click(screen.getByRole('button', { name: 'Sign out all other devices' }));
    expect(await screen.findByText('Signed out 2 other sessions.')).toBeInTheDocument();
    const call = requests.find((request) => request.url === '/api/auth/sessions/revoke-all');
    expect(call?.params).toBeUndefined();
    await vi.waitFor(() => expect(screen.getByRole('button', { name: 'Sign out all other devices' })).toBeDisabled());
    expect(screen.getByText('This device')).toBeInTheDocument();
  });

  it('signs out everywhere after a confirmation, this device too, and lands on the sign-in page', async () => {
    renderSection();
    await userEvent.click(await screen.findByRole('button', { name: 'Sign out everywhere' }));
    expect(requests.some((request) => request.url === '/api/auth/sessions/revoke-all')).toBe(false);
    await userEvent.click(screen.getByRole('button', { name: 'Yes, sign out everywhere' }));
    expect(await screen.findByText(`login page: ${SIGNED_OUT_EVERYWHERE_NOTICE}`)).toBeInTheDocument();
    expect(requests.find((request) => request.url === '/api/auth/sessions/revoke-all')?.params).toEqual({ include_current: true });
  });
});
