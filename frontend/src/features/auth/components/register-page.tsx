import { useEffect, useId, useMemo, useState, type FormEvent } from 'react';
import { Link } from 'react-router-dom';

import { FormAlert } from '@/components/ui/form-alert';
import { PasswordField } from '@/components/ui/password-field';
import { TextField } from '@/components/ui/text-field';
import { paths } from '@/config/paths';
import { listOpenFacilities } from '@/features/auth/api/facilities';
import { register } from '@/features/auth/api/register';
import { PasswordStrengthMeter } from '@/components/ui/password-strength-meter';
import { MIN_LENGTH, MIN_SCORE, usePasswordStrength } from '@/lib/password-strength';
import type { FacilityOption, RegisterInput, RegistrableRole } from '@/features/auth/types/auth';
import { errorMessage } from '@/lib/api-client';
import { useOnline } from '@/lib/network';
import type { ApiErrorBody } from '@/types/api';

type FieldErrors = Partial<Record<keyof RegisterInput, string>>;

const EMPTY: RegisterInput = {
  full_name: '',
  email: '',
  username: '',
  facility_id: null,
  role: 'clinician',
  password: '',
};

function fieldErrorsOf(error: unknown): FieldErrors {
  const body = (error as { response?: { data?: ApiErrorBody } })?.response?.data;
  const errors: FieldErrors = {};
  for (const field of body?.error?.fields ?? []) {
    const name = field.loc[field.loc.length - 1] as keyof RegisterInput;
    if (name in EMPTY) errors[name] ??= field.message;
  }
  if (body?.error?.code === 'weak_password') errors.password = body.error.message;
  if (body?.error?.code === 'username_taken') errors.username = body.error.message;
  if (body?.error?.code === 'unknown_facility') errors.facility_id = body.error.message;
  return errors;
}

export function RegisterPage() {
  const online = useOnline();
  const roleId = useId();
  const facilityId = useId();
  const accessHintId = useId();
  const [facilities, setFacilities] = useState<FacilityOption[] | 'failed' | null>(null);
  const [form, setForm] = useState<RegisterInput>(EMPTY);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [fieldErrors, setFieldErrors] = useState<FieldErrors>({});
  const [done, setDone] = useState<string | null>(null);
  const userInputs = useMemo(
    () => [form.username, form.email, form.full_name].filter(Boolean),
    [form.username, form.email, form.full_name],
  );
  const strength = usePasswordStrength(form.password, userInputs);
  const strongEnough = form.password.length >= MIN_LENGTH && (strength?.score ?? 0) >= MIN_SCORE;

  function set<K extends keyof RegisterInput>(key: K, value: RegisterInput[K]) {
    setForm((current) => ({ ...current, [key]: value }));
    setFieldErrors((current) => ({ ...current, [key]: undefined }));
  }

  useEffect(() => {
    let live = true;
    listOpenFacilities().then(
      (items) => live && setFacilities(items),
      () => live && setFacilities('failed'),
    );
    return () => {
      live = false;
    };
  }, []);

  async function onSubmit(event: FormEvent) {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const accepted = await register(form);
      setDone(accepted.message);
    } catch (caught) {
      setFieldErrors(fieldErrorsOf(caught));
      setError(errorMessage(caught));
    } finally {
      setBusy(false);
    }
  }

  if (done) {
    return (
      <section className="card narrow" aria-labelledby="register-done-title">
        <h1 id="register-done-title">Check your email</h1>
        <FormAlert kind="success">{done}</FormAlert>
        <p>
          Open the link we sent to <strong>{form.email}</strong> to activate your account, then{' '}
          <Link to={paths.login}>sign in</Link>.
        </p>
      </section>
    );
  }

  const complete = form.full_name && form.email && form.username && strongEnough;
  return (
    <section className="card narrow" aria-labelledby="register-title">
      <form onSubmit={onSubmit} noValidate aria-labelledby="register-title">
        <h1 id="register-title">Create an account</h1>
        {error && <FormAlert>{error}</FormAlert>}
        <TextField
          label="Full name"
          name="full_name"
          autoComplete="name"
          required
          value={form.full_name}
          error={fieldErrors.full_name}
          onChange={(event) => set('full_name', event.target.value)}
        />
        <TextField
          label="Email"
          name="email"
          type="email"
          autoComplete="email"
          inputMode="email"
          required
          value={form.email}
          error={fieldErrors.email}
          onChange={(event) => set('email', event.target.value)}
        />
        <TextField
          label="Username"
          name="username"
          autoComplete="username"
          autoCapitalize="off"
          required
          hint="3–64 letters, digits, dots, dashes or underscores."
          value={form.username}
          error={fieldErrors.username}
          onChange={(event) => set('username', event.target.value)}
        />
        <div className="field">
          <label htmlFor={facilityId}>Facility</label>
          <select
            id={facilityId}
            name="facility_id"
            aria-describedby={accessHintId}
            aria-invalid={fieldErrors.facility_id ? true : undefined}
            value={form.facility_id ?? ''}
            onChange={(event) => set('facility_id', event.target.value || null)}
          >
            <option value="">None for now</option>
            {Array.isArray(facilities) &&
              facilities.map((facility) => (
                <option key={facility.id} value={facility.id}>
                  {facility.name}
                </option>
              ))}
          </select>
          {facilities === 'failed' && (
            <p className="field-hint">The list of facilities could not be loaded; you can register without one.</p>
          )}
          {fieldErrors.facility_id && <p className="field-error">{fieldErrors.facility_id}</p>}
        </div>
        <div className="field">
          <label htmlFor={roleId}>Role</label>
          <select
            id={roleId}
            name="role"
            aria-describedby={accessHintId}
            value={form.role}
            onChange={(event) => set('role', event.target.value as RegistrableRole)}
          >
            <option value="clinician">Clinician</option>
            <option value="radiographer">Radiographer</option>
          </select>
          <p id={accessHintId} className="field-hint">
            Your account starts with your own uploads and reports only. An administrator approves the facility and
            role you ask for here before you see a facility&apos;s reports.
          </p>
        </div>
        <PasswordField
          name="password"
          autoComplete="new-password"
          required
          value={form.password}
          error={fieldErrors.password}
          hint={<PasswordStrengthMeter password={form.password} strength={strength} />}
          onChange={(event) => set('password', event.target.value)}
        />
        <button type="submit" className="button button-block" disabled={busy || !online || !complete}>
          {busy ? 'Creating account…' : 'Create account'}
        </button>
        {!online && <p className="field-hint">Registering needs a connection.</p>}
        <p>
          Already registered? <Link to={paths.login}>Sign in</Link>
        </p>
      </form>
    </section>
  );
}
