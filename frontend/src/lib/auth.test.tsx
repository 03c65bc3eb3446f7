import { act, render, screen } from '@testing-library/react';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

import { clearSession, setSession } from '@/lib/api-client';
import { AuthProvider, useAuth } from '@/lib/auth';
import { db } from '@/lib/db';
import { fakeApi, ME, tokenPair } from '@/testing/fake-api';

function Probe() {
  const { status, user, userFromCache } = useAuth();
  return (
    <p>
      {status} {user?.username ?? '-'} {userFromCache ? 'cached' : 'live'}
    </p>
  );
}

describe('AuthProvider', () => {
  let restore = () => {};

  beforeEach(async () => {
    await db.auth.clear();
  });

  afterEach(async () => {
    restore();
    vi.restoreAllMocks();
    await clearSession();
  });

  it('restores the session from the stored refresh token at start-up', async () => {
    await setSession(tokenPair(1));
    const api = fakeApi((request) => {
      if (request.url === '/api/auth/refresh') return { status: 200, body: tokenPair(2) };
      if (request.url === '/api/auth/me') return { status: 200, body: ME };
      return { status: 404, body: {} };
    });
    restore = api.restore;
    render(
      <AuthProvider>
        <Probe />
      </AuthProvider>,
    );
    expect(await screen.findByText('signed-in ana.w live', {}, { timeout: 5000 })).toBeInTheDocument();
    expect(api.requests.map((r) => r.url)).toEqual(['/api/auth/refresh', '/api/auth/me']);
  });

  it('is signed out without a stored session, and when the refresh token is refused', async () => {
    restore = fakeApi(() => ({ status: 401, body: {} })).restore;
    const { unmount } = render(
      <AuthProvider>
        <Probe />
      </AuthProvider>,
    );
    expect(await screen.findByText('signed-out - live')).toBeInTheDocument();
    unmount();

    await setSession(tokenPair(1));
    await db.auth.put({ key: 'me', value: ME, updatedAt: Date.now() });
    // The previous user's cached answers are dropped with the session (a shared device).
    await db.cache.put({ key: 'account:profile', value: { email: 'ana@example.org' }, updatedAt: Date.now() });
    render(
      <AuthProvider>
        <Probe />
      </AuthProvider>,
    );
    expect(await screen.findByText('signed-out - live')).toBeInTheDocument();
    expect(await db.auth.get('refresh')).toBeUndefined();
    await vi.waitFor(async () => expect(await db.cache.count()).toBe(0));
  });

  it('starts offline on the cached profile and confirms it when back online', async () => {
    await setSession(tokenPair(1));
    await db.auth.put({ key: 'me', value: ME, updatedAt: Date.now() });
    let reachable = false;
    restore = fakeApi((request) => {
      if (!reachable) return 'network-error';
      if (request.url === '/api/auth/refresh') return { status: 200, body: tokenPair(2) };
      if (request.url === '/api/auth/me') return { status: 200, body: { ...ME, full_name: 'Ana W.' } };
      return { status: 404, body: {} };
    }).restore;
    render(
      <AuthProvider>
        <Probe />
      </AuthProvider>,
    );
    // Generous waits: IndexedDB (fake) and the retry run slowly on a loaded CI machine.
    expect(await screen.findByText('signed-in ana.w cached', {}, { timeout: 5000 })).toBeInTheDocument();

    reachable = true;
    act(() => {
      window.dispatchEvent(new Event('online'));
    });
    expect(await screen.findByText('signed-in ana.w live', {}, { timeout: 5000 })).toBeInTheDocument();
  });
});
