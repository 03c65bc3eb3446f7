import { useId, useState, type FormEvent } from 'react';

import { FormAlert } from '@/components/ui/form-alert';
import { TextField } from '@/components/ui/text-field';
import type { MfaSetup } from '@/features/account/types/account';
import { errorMessage } from '@/lib/api-client';

/**
 * The server's QR code as an image: a data: URL in an <img> is never parsed into the page, so
 * the SVG's markup cannot run script or style the app.
 */
export function qrImageSrc(svg: string): string {
  return `data:image/svg+xml;charset=utf-8,${encodeURIComponent(svg)}`;
}

/** Step 2 of turning 2FA on: scan (or type the secret), then confirm with a code. */
export function MfaEnrolment({
  setup,
  online,
  onConfirm,
  onCancel,
}: {
  setup: MfaSetup;
  online: boolean;
  onConfirm: (code: string) => Promise<void>;
  onCancel: () => void;
}) {
  const secretId = useId();
  const [code, setCode] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const grouped = setup.secret.replace(/(.{4})/g, '$1 ').trim();

  async function onSubmit(event: FormEvent) {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await onConfirm(code.replace(/\s/g, ''));
    } catch (caught) {
      setError(errorMessage(caught));
      setBusy(false);
    }
  }

  return (
    <form className="mfa-enrolment" onSubmit={onSubmit} noValidate aria-labelledby="mfa-enrol-title">
      <h3 id="mfa-enrol-title">Set up your authenticator app</h3>
      <ol className="steps">
        <li>
          Scan this code with an authenticator app (for example Google Authenticator, Microsoft Authenticator or
          FreeOTP).
          <img className="qr-code" src={qrImageSrc(setup.qr_svg)} alt="QR code to add RelayPACS to your authenticator app" />
        </li>
        <li>
          Or type this key into the app instead:
          <code id={secretId} className="mfa-secret mono" data-secret={setup.secret} aria-label="Secret key for manual entry">
            {grouped}
          </code>
        </li>
        <li>Enter the 6-digit code the app now shows.</li>
      </ol>
      {error && <FormAlert>{error}</FormAlert>}
      <TextField
        label="Code from the app"
        name="mfa_code"
        autoComplete="one-time-code"
        inputMode="numeric"
        pattern="[0-9 ]*"
        maxLength={7}
        value={code}
        onChange={(event) => setCode(event.target.value)}
      />
      <div className="button-row">
        <button type="submit" className="button" disabled={busy || !online || code.replace(/\s/g, '').length !== 6}>
          {busy ? 'Turning on…' : 'Turn on two-factor authentication'}
        </button>
        <button type="button" className="button button-secondary" onClick={onCancel}>
          Cancel
        </button>
      </div>
    </form>
  );
}
