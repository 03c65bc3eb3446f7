import { render, screen } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { MemoryRouter, Route, Routes } from 'react-router-dom';
import { afterEach, describe, expect, it } from 'vitest';

import { LoginPage } from '@/features/auth/components/login-page';
import { clearSession, getAccessToken } from '@/lib/api-client';
import { AuthProvider } from '@/lib/auth';
import { fakeApi, ME, tokenPair, type FakeRequest } from '@/testing/fake-api';

function renderLogin() {
  return render(
    <AuthProvider>
      <MemoryRouter initialEntries={['/login']}>
        <Routes>
          <Route path="/login" element={<LoginPage />} />
          {/* "/" is the home route, which sends each user to their screen (dashboard or upload). */}
          <Route path="/" element={<h1>Home</h1>} />
        </Routes>
      </MemoryRouter>
    </AuthProvider>,
  );
}

describe('LoginPage', () => {
  let restore = () => {};

  afterEach(async () => {
    restore();
    await clearSession();
  });

  it('toggles the password between hidden and shown', async () => {
    restore = fakeApi(() => ({ status: 500 })).restore;
    renderLogin();
    const password = await screen.findByLabelText('Password', { selector: 'input' });
    expect(password).toHaveAttribute('type', 'password');
    await userEvent.click(screen.getByRole('checkbox', { name: 'Show password' }));
    expect(password).toHaveAttribute('type', 'text');
    await userEvent.click(screen.getByRole('checkbox', { name: 'Show password' }));
    expect(password).toHaveAttribute('type', 'password');
  });

  it('signs in with password, then the TOTP step, and lands on the home route', async () => {
    const api = fakeApi((request: FakeRequest) => {
      if (request.url === '/api/auth/login') return { status: 200, body: { mfa_required: true, mfa_token: 'mfa-token-123456', expires_in: 300 } };
      if (request.url === '/api/auth/login/2fa') return { status: 200, body: tokenPair(1) };
      if (request.url === '/api/auth/me') return { status: 200, body: ME };
      return { status: 404, body: {} };
    });
    restore = api.restore;
    renderLogin();

    await userEvent.type(await screen.findByLabelText('Username or email'), 'ana.w');
    await userEvent.type(screen.getByLabelText('Password', { selector: 'input' }), 'marmalade-satellite');
    await userEvent.click(screen.getByRole('button', { name: 'Sign in' }));

    const code = await screen.findByLabelText('Authentication code');
    await userEvent.type(code, '123456');
    await userEvent.click(screen.getByRole('button', { name: 'Verify' }));

    expect(await screen.findByRole('heading', { name: 'Home' })).toBeInTheDocument();
    expect(api.requests.find((r) => r.url === '/api/auth/login/2fa')?.body).toEqual({
      mfa_token: 'mfa-token-123456',
      code: '123456',
    });
    expect(api.requests.find((r) => r.url === '/api/auth/me')?.authorization).toBe('Bearer access-1');
    expect(getAccessToken()).toBe('access-1');
  });

  it('accepts a backup code and shows a wrong code as an error', async () => {
    restore = fakeApi((request) => {
      if (request.url === '/api/auth/login') return { status: 200, body: { mfa_required: true, mfa_token: 'mfa-token-123456', expires_in: 300 } };
      if (request.url === '/api/auth/login/2fa') return { status: 401, body: { error: { code: 'invalid_code', message: 'Wrong or reused code.' } } };
      return { status: 404, body: {} };
    }).restore;
    renderLogin();
    await userEvent.type(await screen.findByLabelText('Username or email'), 'ana.w');
    await userEvent.type(screen.getByLabelText('Password', { selector: 'input' }), 'marmalade-satellite');
    await userEvent.click(screen.getByRole('button', { name: 'Sign in' }));
    await userEvent.type(await screen.findByLabelText('Authentication code'), 'abcd-efgh-ijkl');
    await userEvent.click(screen.getByRole('button', { name: 'Verify' }));
    expect(await screen.findByRole('alert')).toHaveTextContent('Wrong or reused code.');
  });

  it('offers a new verification email when the address is not verified', async () => {
    const api = fakeApi((request) => {
      if (request.url === '/api/auth/login') return { status: 403, body: { error: { code: 'email_not_verified', message: 'Verify your email address first.' } } };
      if (request.url === '/api/auth/verify-email/resend') return { status: 202, body: { status: 'accepted', message: 'If the address is registered, a new link is on its way.' } };
      return { status: 404, body: {} };
    });
    restore = api.restore;
    renderLogin();
    await userEvent.type(await screen.findByLabelText('Username or email'), 'ana@example.org');
    await userEvent.type(screen.getByLabelText('Password', { selector: 'input' }), 'marmalade-satellite');
    await userEvent.click(screen.getByRole('button', { name: 'Sign in' }));
    expect(await screen.findByRole('alert')).toHaveTextContent('Verify your email address first.');
    await userEvent.click(screen.getByRole('button', { name: 'Send a new verification email' }));
    expect(await screen.findByText('If the address is registered, a new link is on its way.')).toBeInTheDocument();
    expect(api.requests.at(-1)?.body).toEqual({ email: 'ana@example.org' });
  });
});
