import { render, screen } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { MemoryRouter, Route, Routes, useLocation } from 'react-router-dom';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

import { PASSWORD_CHANGED_NOTICE, PasswordSection } from '@/features/account/components/password-section';
import { clearSession, setSession } from '@/lib/api-client';
import { AuthProvider } from '@/lib/auth';
import { db } from '@/lib/db';
import { fakeApi, ME, tokenPair, type FakeRequest } from '@/testing/fake-api';

const STRONG = 'correct-Horse-battery-staple-91';

function LoginProbe() {
  const location = useLocation();
  return <p>login page: {(location.state as { notice?: string } | null)?.notice}</p>;
}

describe('PasswordSection', () => {
  let restore = () => {};
  let requests: FakeRequest[];
  let answer: { status: number; body?: unknown };
  let sessionsEnded: boolean;

  beforeEach(async () => {
    answer = { status: 200, body: { revoked: 2 } };
    sessionsEnded = false;
    await setSession(tokenPair(1));
    const api = fakeApi((request) => {
      if (request.url === '/api/auth/refresh')
        return sessionsEnded ? { status: 401, body: { error: { code: 'invalid_token', message: 'x' } } } : { status: 200, body: tokenPair(2) };
      if (request.url === '/api/auth/me') return { status: 200, body: ME };
      if (request.url === '/api/auth/password') {
        sessionsEnded = answer.status === 200; // the API ends every session, this one too
        return answer;
      }
      if (request.url === '/api/auth/logout')
        return sessionsEnded ? { status: 401, body: { error: { code: 'invalid_token', message: 'x' } } } : { status: 204 };
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
        <MemoryRouter initialEntries={['/settings/security']}>
          <Routes>
            <Route path="/settings/security" element={<PasswordSection />} />
            <Route path="/login" element={<LoginProbe />} />
          </Routes>
        </MemoryRouter>
      </AuthProvider>,
    );
  }

  async function fill(current: string, next: string) {
    await vi.waitFor(async () => expect((await db.auth.get('me'))?.value).toEqual(ME)); // signed in
    await userEvent.type(await screen.findByLabelText('Current password'), current);
    await userEvent.type(screen.getByLabelText('New password'), next);
    await screen.findByText(/good to go/, undefined, { timeout: 10_000 });
  }

  it('holds a weak new password back with the live meter', async () => {
    renderSection();
    await userEvent.type(await screen.findByLabelText('Current password'), 'old password here');
    await userEvent.type(screen.getByLabelText('New password'), 'password');
    expect(await screen.findByText('Too short')).toBeInTheDocument();
    expect(screen.getByRole('button', { name: 'Change password' })).toBeDisabled();
  });

  it("shows the server's reason on the field it concerns", async () => {
    answer = {
      status: 403,
      body: { error: { code: 'weak_password', message: 'The password is too easy to guess: a common phrase.', reason: 'too_guessable' } },
    };
    renderSection();
    await fill('old password here', STRONG);
    await userEvent.click(screen.getByRole('button', { name: 'Change password' }));
    expect(await screen.findByText('The password is too easy to guess: a common phrase.')).toBeInTheDocument();
    expect(screen.getByLabelText('New password')).toHaveAttribute('aria-invalid', 'true');

    answer = { status: 403, body: { error: { code: 'wrong_password', message: 'The current password is wrong.' } } };
    await userEvent.click(screen.getByRole('button', { name: 'Change password' }));
    expect(await screen.findByText('The current password is wrong.')).toBeInTheDocument();
    expect(screen.getByLabelText('Current password')).toHaveAttribute('aria-invalid', 'true');
  }, 20_000);

  it('after a change forgets the session and sends the user to sign in again', async () => {
    renderSection();
    await fill('old password here', STRONG);
    expect(await db.auth.get('refresh')).toBeDefined();
    await userEvent.click(screen.getByRole('button', { name: 'Change password' }));
    expect(await screen.findByText(`login page: ${PASSWORD_CHANGED_NOTICE}`)).toBeInTheDocument();
    expect(requests.find((request) => request.url === '/api/auth/password')?.body).toEqual({
      current_password: 'old password here',
      new_password: STRONG,
    });
    expect(await db.auth.get('refresh')).toBeUndefined();
  }, 20_000);
});
