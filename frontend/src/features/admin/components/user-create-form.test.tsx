import { render, screen } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { afterEach, describe, expect, it, vi } from 'vitest';

import { UserCreateForm } from '@/features/admin/components/user-create-form';
import { fakeApi } from '@/testing/fake-api';

const FACILITIES = [
  { id: 'f-open', name: 'North Clinic', is_active: true, created_at: '', updated_at: '' },
  { id: 'f-closed', name: 'Old Annex', is_active: false, created_at: '', updated_at: '' },
];

async function fillIn() {
  await userEvent.type(screen.getByLabelText('Username'), 'dr.new');
  await userEvent.type(screen.getByLabelText('Full name'), 'Dr New');
  await userEvent.type(screen.getByLabelText('Email'), 'new@example.org');
  await userEvent.selectOptions(screen.getByLabelText('Role'), 'radiologist');
  await userEvent.selectOptions(screen.getByLabelText('Facility'), 'f-open');
}

// Typing five fields character by character is slow on a loaded CI machine.
describe('UserCreateForm', { timeout: 20_000 }, () => {
  let restore = () => {};
  afterEach(() => restore());

  it('creates a user with a temporary password', async () => {
    const api = fakeApi(() => ({ status: 201, body: { id: 'u1', username: 'dr.new', email: 'new@example.org' } }));
    restore = api.restore;
    const onCreated = vi.fn();
    render(<UserCreateForm facilities={FACILITIES} online onCreated={onCreated} />);
    expect(screen.queryByRole('option', { name: 'Old Annex' })).not.toBeInTheDocument();
    await fillIn();
    await userEvent.type(screen.getByLabelText('Temporary password'), 'opaline-meridian-sparrow-5');
    await userEvent.click(screen.getByRole('button', { name: 'Create user' }));
    expect(api.requests[0]).toMatchObject({
      method: 'POST',
      url: '/api/users',
      body: {
        username: 'dr.new',
        full_name: 'Dr New',
        email: 'new@example.org',
        role: 'radiologist',
        facility_id: 'f-open',
        password: 'opaline-meridian-sparrow-5',
      },
    });
    expect(onCreated).toHaveBeenCalledWith(expect.objectContaining({ username: 'dr.new' }), 'password');
  });

  it('invites by email without a password field', async () => {
    const api = fakeApi(() => ({ status: 201, body: { id: 'u2', username: 'dr.new', email: 'new@example.org' } }));
    restore = api.restore;
    const onCreated = vi.fn();
    render(<UserCreateForm facilities={FACILITIES} online onCreated={onCreated} />);
    await fillIn();
    await userEvent.click(screen.getByRole('radio', { name: /Invitation by email/ }));
    expect(screen.queryByLabelText('Temporary password')).not.toBeInTheDocument();
    await userEvent.click(screen.getByRole('button', { name: 'Send invitation' }));
    expect(api.requests[0].url).toBe('/api/users/invitations');
    expect(api.requests[0].body).not.toHaveProperty('password');
    expect(onCreated).toHaveBeenCalledWith(expect.anything(), 'invite');
  });

  it('says which name is taken and keeps the form', async () => {
    restore = fakeApi(() => ({ status: 409, body: { error: { code: 'username_taken', message: 'taken' } } })).restore;
    render(<UserCreateForm facilities={FACILITIES} online onCreated={vi.fn()} />);
    await fillIn();
    await userEvent.type(screen.getByLabelText('Temporary password'), 'opaline-meridian-sparrow-5');
    await userEvent.click(screen.getByRole('button', { name: 'Create user' }));
    expect(await screen.findByRole('alert')).toHaveTextContent('This username is taken.');
    expect(screen.getByLabelText('Username')).toHaveValue('dr.new');
  });

  it('cannot be sent offline', () => {
    render(<UserCreateForm facilities={FACILITIES} online={false} onCreated={vi.fn()} />);
    expect(screen.getByRole('button', { name: 'Create user' })).toBeDisabled();
  });
});
