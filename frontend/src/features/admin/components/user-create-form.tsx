import { useState, type FormEvent } from 'react';

import { FormAlert } from '@/components/ui/form-alert';
import { PasswordField } from '@/components/ui/password-field';
import { TextField } from '@/components/ui/text-field';
import { createUser, inviteUser } from '@/features/admin/api/users';
import { ROLE_LABELS, ROLES, type AdminUser, type Facility, type Role } from '@/features/admin/types/admin';
import { errorCode, errorMessage } from '@/lib/api-client';

export type CreateMode = 'password' | 'invite';

export interface UserCreateFormProps {
  facilities: Facility[];
  online: boolean;
  onCreated: (user: AdminUser, mode: CreateMode) => void;
}

/** A new account: with a temporary password given to the user, or an invitation by email. */
export function UserCreateForm({ facilities, online, onCreated }: UserCreateFormProps) {
  const [username, setUsername] = useState('');
  const [fullName, setFullName] = useState('');
  const [email, setEmail] = useState('');
  const [role, setRole] = useState<Role>('clinician');
  const [facilityId, setFacilityId] = useState('');
  const [mode, setMode] = useState<CreateMode>('password');
  const [password, setPassword] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  async function onSubmit(event: FormEvent) {
    event.preventDefault();
    setError(null);
    setBusy(true);
    const base = {
      username: username.trim(),
      full_name: fullName.trim(),
      email: email.trim(),
      role,
      facility_id: facilityId || null,
    };
    try {
      const user = mode === 'password' ? await createUser({ ...base, password }) : await inviteUser(base);
      onCreated(user, mode);
    } catch (caught) {
      const code = errorCode(caught);
      setError(
        code === 'username_taken'
          ? 'This username is taken.'
          : code === 'email_taken'
            ? 'An account with this email address exists.'
            : errorMessage(caught),
      );
    } finally {
      setBusy(false);
    }
  }

  const openFacilities = facilities.filter((facility) => facility.is_active);
  return (
    <form className="card admin-form" aria-labelledby="create-user-title" onSubmit={(event) => void onSubmit(event)}>
      <h2 id="create-user-title" className="form-actions">
        New user
      </h2>
      <TextField
        label="Username"
        value={username}
        onChange={(event) => setUsername(event.target.value)}
        required
        minLength={3}
        maxLength={64}
        pattern="[A-Za-z0-9._\-]+"
        autoComplete="off"
        hint="Letters, digits, dot, dash and underscore."
      />
      <TextField
        label="Full name"
        value={fullName}
        onChange={(event) => setFullName(event.target.value)}
        required
        maxLength={200}
        autoComplete="off"
      />
      <TextField
        label="Email"
        type="email"
        value={email}
        onChange={(event) => setEmail(event.target.value)}
        required
        autoComplete="off"
      />
      <div className="field">
        <label htmlFor="new-user-role">Role</label>
        <select id="new-user-role" value={role} onChange={(event) => setRole(event.target.value as Role)}>
          {ROLES.map((value) => (
            <option key={value} value={value}>
              {ROLE_LABELS[value]}
            </option>
          ))}
        </select>
      </div>
      <div className="field">
        <label htmlFor="new-user-facility">Facility</label>
        <select id="new-user-facility" value={facilityId} onChange={(event) => setFacilityId(event.target.value)}>
          <option value="">None</option>
          {openFacilities.map((facility) => (
            <option key={facility.id} value={facility.id}>
              {facility.name}
            </option>
          ))}
        </select>
      </div>
      <fieldset className="admin-fieldset form-actions">
        <legend>How the user gets a password</legend>
        <label className="checkbox">
          <input type="radio" name="create-mode" checked={mode === 'password'} onChange={() => setMode('password')} />
          Temporary password (give it to the user)
        </label>
        <label className="checkbox">
          <input type="radio" name="create-mode" checked={mode === 'invite'} onChange={() => setMode('invite')} />
          Invitation by email (the user chooses a password with a single-use link)
        </label>
      </fieldset>
      {mode === 'password' && (
        <PasswordField
          label="Temporary password"
          value={password}
          onChange={(event) => setPassword(event.target.value)}
          required
          autoComplete="new-password"
          hint="At least 12 characters and hard to guess; the server says why it refuses one."
        />
      )}
      {error && (
        <div className="form-actions">
          <FormAlert>{error}</FormAlert>
        </div>
      )}
      <div className="form-actions button-row">
        <button type="submit" className="button" disabled={busy || !online}>
          {mode === 'password' ? 'Create user' : 'Send invitation'}
        </button>
        {!online && <span>You are offline: users can be created once the connection is back.</span>}
      </div>
    </form>
  );
}
