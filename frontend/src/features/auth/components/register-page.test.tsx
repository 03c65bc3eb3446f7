import { render, screen } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { MemoryRouter } from 'react-router-dom';
import { afterEach, describe, expect, it } from 'vitest';

import { RegisterPage } from '@/features/auth/components/register-page';
import { fakeApi, type FakeRequest } from '@/testing/fake-api';

function renderRegister() {
  return render(
    <MemoryRouter>
      <RegisterPage />
    </MemoryRouter>,
  );
}

const CLINIC = { id: '5b0c8a52-2222-4c4c-9999-000000000004', name: 'Rural Clinic 4' };

function facilitiesOr(answer: (request: FakeRequest) => { status: number; body?: unknown }) {
  return (request: FakeRequest) =>
    request.method === 'GET' && request.url === '/api/facilities'
      ? { status: 200, body: { items: [CLINIC] } }
      : answer(request);
}

async function fillIdentity() {
  await userEvent.type(screen.getByLabelText('Full name'), 'Ana Wright');
  await userEvent.type(screen.getByLabelText('Email'), 'ana@example.org');
  await userEvent.type(screen.getByLabelText('Username'), 'ana.w');
  await screen.findByRole('option', { name: 'Rural Clinic 4' });
  await userEvent.selectOptions(screen.getByLabelText('Facility'), 'Rural Clinic 4');
  await userEvent.selectOptions(screen.getByLabelText('Role'), 'radiographer');
}

describe('RegisterPage', () => {
  let restore = () => {};
  afterEach(() => restore());

  it('gives live strength feedback and only submits a strong password', async () => {
    const api = fakeApi(
      facilitiesOr(() => ({ status: 202, body: { status: 'accepted', message: 'Check your inbox for the verification link.' } })),
    );
    restore = api.restore;
    renderRegister();
    await fillIdentity();
    const password = screen.getByLabelText('Password', { selector: 'input' });
    const submit = screen.getByRole('button', { name: 'Create account' });

    await userEvent.type(password, 'password');
    expect(screen.getByText('Too short')).toBeInTheDocument();
    expect(submit).toBeDisabled();

    await userEvent.type(password, '1234');
    expect(await screen.findByText(/^(Very weak|Weak)$/, {}, { timeout: 10_000 })).toBeInTheDocument();
    expect(screen.getByRole('list')).toHaveTextContent(/.+/); // zxcvbn's warning or suggestions
    expect(submit).toBeDisabled();

    await userEvent.clear(password);
    await userEvent.type(password, 'marmalade-satellite-cobalt-19');
    expect(await screen.findByText(/good to go/, {}, { timeout: 10_000 })).toBeInTheDocument();
    expect(submit).toBeEnabled();

    await userEvent.click(submit);
    expect(await screen.findByRole('heading', { name: 'Check your email' })).toBeInTheDocument();
    expect(api.requests.find((r) => r.method === 'POST')?.body).toEqual({
      full_name: 'Ana Wright',
      email: 'ana@example.org',
      username: 'ana.w',
      facility_id: CLINIC.id,
      role: 'radiographer',
      password: 'marmalade-satellite-cobalt-19',
    });
  }, 30_000);

  it('puts server validation errors on their fields', async () => {
    restore = fakeApi(
      facilitiesOr(() => ({
        status: 409,
        body: { error: { code: 'username_taken', message: 'This username is taken.' } },
      })),
    ).restore;
    renderRegister();
    await fillIdentity();
    await userEvent.type(screen.getByLabelText('Password', { selector: 'input' }), 'marmalade-satellite-cobalt-19');
    const submit = screen.getByRole('button', { name: 'Create account' });
    await screen.findByText(/good to go/, {}, { timeout: 10_000 });
    await userEvent.click(submit);
    const username = screen.getByLabelText('Username');
    expect(await screen.findByRole('alert')).toHaveTextContent('This username is taken.');
    expect(username).toHaveAttribute('aria-invalid', 'true');
    expect(username).toHaveAccessibleDescription(expect.stringContaining('This username is taken.'));
  }, 30_000);

  it('registers without a facility, and says access is approved by an administrator', async () => {
    const api = fakeApi((request) =>
      request.method === 'GET'
        ? { status: 503, body: { error: { code: 'service_unavailable', message: 'Down' } } }
        : { status: 202, body: { status: 'accepted', message: 'Check your inbox.' } },
    );
    restore = api.restore;
    renderRegister();
    expect(await screen.findByText(/could not be loaded; you can register without one/)).toBeInTheDocument();
    expect(screen.getByLabelText('Facility')).toHaveAccessibleDescription(expect.stringContaining('administrator approves'));
    await userEvent.type(screen.getByLabelText('Full name'), 'Ana Wright');
    await userEvent.type(screen.getByLabelText('Email'), 'ana@example.org');
    await userEvent.type(screen.getByLabelText('Username'), 'ana.w');
    await userEvent.type(screen.getByLabelText('Password', { selector: 'input' }), 'marmalade-satellite-cobalt-19');
    await screen.findByText(/good to go/, {}, { timeout: 10_000 });
    await userEvent.click(screen.getByRole('button', { name: 'Create account' }));
    await screen.findByRole('heading', { name: 'Check your email' });
    expect(api.requests.find((r) => r.method === 'POST')?.body).toMatchObject({ facility_id: null, role: 'clinician' });
  }, 30_000);
});
