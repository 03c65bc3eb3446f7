import { useEffect, useRef, useState, type FormEvent } from 'react';

import { FormAlert } from '@/components/ui/form-alert';
import { PasswordField } from '@/components/ui/password-field';
import { TextField } from '@/components/ui/text-field';
import { reauthenticate } from '@/features/account/api/reauth';
import { errorCode, errorMessage } from '@/lib/api-client';
import { useOnline } from '@/lib/network';

/** "Confirm it's you": the password (and a 2FA code) before an account change is retried. */
export function ReauthPrompt({
  mfaEnabled,
  onConfirmed,
  onCancel,
}: {
  mfaEnabled: boolean;
  onConfirmed: () => void;
  onCancel: () => void;
}) {
  const online = useOnline();
  const [password, setPassword] = useState('');
  const [code, setCode] = useState('');
  const [askCode, setAskCode] = useState(mfaEnabled);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const box = useRef<HTMLDivElement>(null);

  useEffect(() => {
    box.current?.querySelector('input')?.focus();
  }, []);

  async function onSubmit(event: FormEvent) {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await reauthenticate({ password, code: askCode && code.trim() ? code.trim() : null });
      onConfirmed();
    } catch (caught) {
      if (errorCode(caught) === 'mfa_code_required') {
        setAskCode(true);
        setError('Enter a code from your authenticator app (or a backup code) too.');
      } else {
        setError(errorMessage(caught));
      }
    } finally {
      setBusy(false);
    }
  }

  return (
    <div
      ref={box}
      className="reauth"
      role="dialog"
      aria-labelledby="reauth-title"
      aria-describedby="reauth-why"
      onKeyDown={(event) => event.key === "Escape" && onCancel()}
    >
      <form onSubmit={onSubmit} noValidate>
        <h3 id="reauth-title">Confirm it&apos;s you</h3>
        <p id="reauth-why">This change needs a recent sign-in. Enter your password to continue.</p>
        {error && <FormAlert>{error}</FormAlert>}
        <PasswordField
          label="Your password"
          name="reauth_password"
          autoComplete="current-password"
          value={password}
          onChange={(event) => setPassword(event.target.value)}
        />
        {askCode && (
          <TextField
            label="Authentication code"
            name="reauth_code"
            autoComplete="one-time-code"
            inputMode="text"
            hint="From your authenticator app, or one of your backup codes."
            value={code}
            onChange={(event) => setCode(event.target.value)}
          />
        )}
        <div className="button-row">
          <button type="submit" className="button" disabled={busy || !online || !password}>
            {busy ? 'Checking…' : 'Confirm'}
          </button>
          <button type="button" className="button button-secondary" onClick={onCancel}>
            Cancel
          </button>
        </div>
      </form>
    </div>
  );
}
