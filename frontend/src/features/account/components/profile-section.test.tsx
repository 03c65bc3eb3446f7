import { act, render, screen } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { MemoryRouter } from 'react-router-dom';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

import { ProfileSection } from '@/features/account/components/profile-section';
import type { Profile } from '@/features/account/types/account';
import { clearSession, setSession } from '@/lib/api-client';
import { AuthProvider } from '@/lib/auth';
import { fakeApi, ME, tokenPair, type FakeRequest } from '@/testing/fake-api';

const PROFILE: Profile = {
  email: 'ana@example.org',
  pending_email: null,
  username: 'ana.w',
  full_name: 'Ana Wright',
  facility: 'Rural Clinic 4',
  role: 'radiographer',
  membership: null,
};

describe('ProfileSection', () => {
  let restore = () => {};
  let requests: FakeRequest[];
  let profile: Profile;
  let patch: (body: Record<string, string>) => { status: number; body?: unknown };

  beforeEach(async () => {
    profile = { ...PROFILE };
    patch = (body) => {
      if (body.email) profile = { ...profile, pending_email: body.email };
      if (body.full_name) profile = { ...profile, full_name: body.full_name };
      return { status: 200, body: profile };
    };
    await setSession(tokenPair(1));
    const api = fakeApi((request) => {
      if (request.url === '/api/auth/refresh') return { status: 200, body: tokenPair(2) };
      if (request.url === '/api/auth/me') return { status: 200, body: ME };
      if (request.url === '/api/me/profile' && request.method === 'GET') return { status: 200, body: profile };
      if (request.url === '/api/me/profile' && request.method === 'PATCH') return patch(request.body as Record<string, string>);
      if (request.url === '/api/auth/reauth') return { status: 200, body: { status: 'reauthenticated', valid_until: '2026-12-02T03:00:00Z' } };
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
        <MemoryRouter>
          <ProfileSection />
        </MemoryRouter>
      </AuthProvider>,
    );
  }

  const patches = () => requests.filter((request) => request.method === 'PATCH');

  it('shows username, role and facility read-only and has no save button', async () => {
    renderSection();
    expect(await screen.findByLabelText('Full name')).toHaveValue('Ana Wright');
    expect(screen.getByText('ana.w')).toBeInTheDocument();
    expect(screen.getByText('Radiographer')).toBeInTheDocument();
    expect(screen.getByText('Rural Clinic 4')).toBeInTheDocument();
    expect(screen.queryByRole('textbox', { name: 'Username' })).not.toBeInTheDocument();
    expect(screen.queryByRole('button', { name: /save/i })).not.toBeInTheDocument();
  });

  it('saves a field when it loses focus, once, and shows it saved', async () => {
    renderSection();
    const name = await screen.findByLabelText('Full name');
    await userEvent.clear(name);
    await userEvent.type(name, 'Ana  W. Wright ');
    expect(patches()).toHaveLength(0); // typing alone saves nothing
    await userEvent.tab();
    expect(await screen.findByText('Saved')).toBeInTheDocument();
    expect(patches().map((request) => request.body)).toEqual([{ full_name: 'Ana  W. Wright' }]);
    expect(name).toHaveValue('Ana  W. Wright');

    // Focus and leave again without a change: nothing is sent.
    await userEvent.click(name);
    await userEvent.tab();
    expect(patches()).toHaveLength(1);
  });

  it('shows the server refusal on the field and keeps what was typed', async () => {
    patch = () => ({ status: 422, body: { error: { code: 'validation_error', message: 'The full name must contain text.' } } });
    renderSection();
    const name = await screen.findByLabelText('Full name');
    await userEvent.clear(name);
    await userEvent.type(name, 'x'.repeat(3));
    await userEvent.tab();
    expect(await screen.findByText('Not saved: The full name must contain text.')).toBeInTheDocument();
    expect(name).toHaveAttribute('aria-invalid', 'true');
    expect(name).toHaveValue('xxx');
    expect(screen.queryByText('Saved')).not.toBeInTheDocument();
  });

  it('refuses to save offline and says so, sending nothing', async () => {
    renderSection();
    const name = await screen.findByLabelText('Full name');
    vi.spyOn(navigator, 'onLine', 'get').mockReturnValue(false);
    act(() => {
      window.dispatchEvent(new Event('offline'));
    });
    await userEvent.clear(name);
    await userEvent.type(name, 'Offline Name');
    await userEvent.tab();
    expect(await screen.findByText(/Not saved: you are offline/)).toBeInTheDocument();
    expect(patches()).toHaveLength(0);
  });

  it('an email change asks for the password when the sign-in is old, then shows it pending verification', async () => {
    let reauthenticated = false;
    patch = (body) => {
      if (!reauthenticated) {
        return { status: 403, body: { error: { code: 'reauthentication_required', message: 'Confirm your password.' } } };
      }
      profile = { ...profile, pending_email: body.email! };
      return { status: 200, body: profile };
    };
    renderSection();
    const email = await screen.findByLabelText('Email');
    await userEvent.clear(email);
    await userEvent.type(email, 'Ana.New@Example.org');
    await userEvent.tab();
    const password = await screen.findByLabelText('Your password');
    expect(password).toHaveFocus();
    reauthenticated = true;
    await userEvent.type(password, 'my current password');
    await userEvent.click(screen.getByRole('button', { name: 'Confirm' }));
    expect(await screen.findByText('Pending verification:')).toBeInTheDocument();
    expect(screen.getByText(/open the link we sent to ana.new@example.org/)).toBeInTheDocument();
    expect(requests.find((request) => request.url === '/api/auth/reauth')?.body).toEqual({
      password: 'my current password',
      code: null,
    });
    expect(patches().map((request) => request.body)).toEqual([
      { email: 'ana.new@example.org' },
      { email: 'ana.new@example.org' },
    ]);
    expect(screen.queryByRole('dialog')).not.toBeInTheDocument();
  });
});
