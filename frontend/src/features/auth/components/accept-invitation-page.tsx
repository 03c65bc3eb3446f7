import { useEffect, useState, type FormEvent } from 'react';
import { Link, useSearchParams } from 'react-router-dom';

import { FormAlert } from '@/components/ui/form-alert';
import { PasswordField } from '@/components/ui/password-field';
import { paths } from '@/config/paths';
import { acceptInvitation } from '@/features/auth/api/accept-invitation';
import { PasswordStrengthMeter } from '@/components/ui/password-strength-meter';
import { usePasswordStrength } from '@/lib/password-strength';
import { errorMessage } from '@/lib/api-client';
import { useOnline } from '@/lib/network';

/**
 * Where an invitation's link leads: the invitee chooses a password. The token is read once and
 * taken out of the address bar and history at once.
 */
export function AcceptInvitationPage() {
  const [params] = useSearchParams();
  const online = useOnline();
  const [token] = useState(() => params.get('token') ?? '');
  const [password, setPassword] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [username, setUsername] = useState<string | null>(null);
  const strength = usePasswordStrength(password, []);

  useEffect(() => {
    if (params.has('token')) window.history.replaceState(window.history.state, '', paths.acceptInvitation);
  }, [params]);

  async function onSubmit(event: FormEvent) {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      setUsername((await acceptInvitation(token, password)).username);
    } catch (caught) {
      setError(errorMessage(caught));
    } finally {
      setBusy(false);
    }
  }

  if (username) {
    return (
      <section className="card narrow" aria-labelledby="invitation-title">
        <h1 id="invitation-title">Password set</h1>
        <FormAlert kind="success">Your account {username} is ready. Sign in with your new password.</FormAlert>
        <p>
          <Link className="button" to={paths.login}>
            Sign in
          </Link>
        </p>
      </section>
    );
  }
  return (
    <section className="card narrow" aria-labelledby="invitation-title">
      <h1 id="invitation-title">Choose your password</h1>
      {!token ? (
        <FormAlert>This invitation link is incomplete. Open the link from the email again.</FormAlert>
      ) : (
        <form onSubmit={(event) => void onSubmit(event)}>
          <PasswordField
            label="New password"
            value={password}
            onChange={(event) => setPassword(event.target.value)}
            autoComplete="new-password"
            required
            hint={<PasswordStrengthMeter password={password} strength={strength} />}
          />
          {error && <FormAlert>{error}</FormAlert>}
          <button type="submit" className="button button-block" disabled={busy || !online || !password}>
            Set password
          </button>
          {!online && <p>You are offline: the password can be set once the connection is back.</p>}
        </form>
      )}
    </section>
  );
}
