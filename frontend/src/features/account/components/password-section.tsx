import { useMemo, useState, type FormEvent } from 'react';
import { useNavigate } from 'react-router-dom';

import '@/features/account/components/account.css';
import { FormAlert } from '@/components/ui/form-alert';
import { PasswordField } from '@/components/ui/password-field';
import { PasswordStrengthMeter } from '@/components/ui/password-strength-meter';
import { paths } from '@/config/paths';
import { changePassword } from '@/features/account/api/password';
import { errorCode, errorMessage } from '@/lib/api-client';
import { useAuth } from '@/lib/auth';
import { useOnline } from '@/lib/network';
import { MIN_LENGTH, MIN_SCORE, usePasswordStrength } from '@/lib/password-strength';

export const PASSWORD_CHANGED_NOTICE = 'Your password was changed and every session was signed out. Sign in with your new password.';

/** Settings → Security → Password: then every session ends (this one too) and the user signs in again. */
export function PasswordSection() {
  const online = useOnline();
  const navigate = useNavigate();
  const { user, signOut } = useAuth();
  const [current, setCurrent] = useState('');
  const [next, setNext] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [currentError, setCurrentError] = useState<string | null>(null);
  const [nextError, setNextError] = useState<string | null>(null);
  const userInputs = useMemo(
    () => [user?.username, user?.email, user?.full_name].filter((value): value is string => Boolean(value)),
    [user?.username, user?.email, user?.full_name],
  );
  const strength = usePasswordStrength(next, userInputs);
  const strongEnough = next.length >= MIN_LENGTH && (strength?.score ?? 0) >= MIN_SCORE;

  async function onSubmit(event: FormEvent) {
    event.preventDefault();
    setBusy(true);
    setError(null);
    setCurrentError(null);
    setNextError(null);
    try {
      await changePassword(current, next);
    } catch (caught) {
      const code = errorCode(caught);
      // The server's own reasons: a wrong current password, or why the new one is refused.
      if (code === 'wrong_password') setCurrentError(errorMessage(caught));
      else if (code === 'weak_password') setNextError(errorMessage(caught));
      else setError(errorMessage(caught));
      setBusy(false);
      return;
    }
    // The API ended every session, this one included: forget the tokens and sign in again.
    await signOut();
    navigate(paths.login, { replace: true, state: { notice: PASSWORD_CHANGED_NOTICE } });
  }

  return (
    <section className="settings-section" aria-labelledby="password-title">
      <h2 id="password-title">Password</h2>
      <form onSubmit={onSubmit} noValidate aria-labelledby="password-title">
        {error && <FormAlert>{error}</FormAlert>}
        <PasswordField
          label="Current password"
          name="current_password"
          autoComplete="current-password"
          required
          value={current}
          error={currentError}
          onChange={(event) => setCurrent(event.target.value)}
        />
        <PasswordField
          label="New password"
          name="new_password"
          autoComplete="new-password"
          required
          value={next}
          error={nextError}
          hint={<PasswordStrengthMeter password={next} strength={strength} />}
          onChange={(event) => {
            setNext(event.target.value);
            setNextError(null);
          }}
        />
        <p className="field-hint">After the change you are signed out everywhere, this device too.</p>
        <button type="submit" className="button" disabled={busy || !online || !current || !strongEnough}>
          {busy ? 'Changing password…' : 'Change password'}
        </button>
        {!online && <p className="field-hint">Changing your password needs a connection.</p>}
      </form>
    </section>
  );
}
