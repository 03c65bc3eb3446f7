import { render, screen } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { MemoryRouter } from 'react-router-dom';
import { afterEach, describe, expect, it } from 'vitest';

import { RegisterPage } from '@/features/auth/components/register-page';
import { fakeApi } from '@/testing/fake-api';

function renderRegister() {
  return render(
    <MemoryRouter>
      <RegisterPage />
    </MemoryRouter>,
  );
}

async function fillIdentity() {
  await userEvent.type(screen.getByLabelText('Full name'), 'Ana Wright');
  await userEvent.type(screen.getByLabelText('Email'), 'ana@example.org');
  await userEvent.type(screen.getByLabelText('Username'), 'ana.w');
  await userEvent.type(screen.getByLabelText('Facility'), 'Rural Clinic 4');
  await userEvent.selectOptions(screen.getByLabelText('Role'), 'radiographer');
}

describe('RegisterPage', () => {
  let restore = () => {};
  afterEach(() => restore());

  it('gives live strength feedback and only submits a strong password', async () => {
    const api = fakeApi(() => ({ status: 202, body: { status: 'accepted', message: 'Check your inbox for the verification link.' } }));
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
    expect(api.requests[0]?.body).toEqual({
      full_name: 'Ana Wright',
      email: 'ana@example.org',
      username: 'ana.w',
      facility: 'Rural Clinic 4',
      role: 'radiographer',
      password: 'marmalade-satellite-cobalt-19',
    });
  }, 30_000);

  it('puts server validation errors on their fields', async () => {
    restore = fakeApi(() => ({
      status: 409,
      body: { error: { code: 'username_taken', message: 'This username is taken.' } },
    })).restore;
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
});
