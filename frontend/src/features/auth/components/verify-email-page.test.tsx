import { render, screen } from '@testing-library/react';
import { MemoryRouter } from 'react-router-dom';
import { afterEach, describe, expect, it } from 'vitest';

import { VerifyEmailPage } from '@/features/auth/components/verify-email-page';
import { fakeApi } from '@/testing/fake-api';

function renderAt(url: string) {
  return render(
    <MemoryRouter initialEntries={[url]}>
      <VerifyEmailPage />
    </MemoryRouter>,
  );
}

describe('VerifyEmailPage', () => {
  let restore = () => {};
  afterEach(() => restore());

  it('confirms after the server verified the mailed link', () => {
    renderAt('/verify-email?result=verified');
    expect(screen.getByRole('heading', { name: 'Email verified' })).toBeInTheDocument();
    expect(screen.getByRole('link', { name: 'Sign in' })).toHaveAttribute('href', '/login');
  });

  it('explains an invalid or used link', () => {
    renderAt('/verify-email?result=invalid&reason=invalid_verification_token');
    expect(screen.getByRole('heading', { name: 'Link not valid' })).toBeInTheDocument();
  });

  it('verifies a ?token= link with a POST and drops the token from the address', async () => {
    window.history.replaceState(null, '', '/verify-email?token=abcdefghijklmnop');
    const api = fakeApi(() => ({ status: 200, body: { status: 'verified', email: 'ana@example.org' } }));
    restore = api.restore;
    renderAt('/verify-email?token=abcdefghijklmnop');
    expect(await screen.findByRole('heading', { name: 'Email verified' })).toBeInTheDocument();
    expect(api.requests[0]).toMatchObject({ method: 'POST', url: '/api/auth/verify-email', body: { token: 'abcdefghijklmnop' } });
    expect(window.location.search).not.toContain('token');
  });
});
