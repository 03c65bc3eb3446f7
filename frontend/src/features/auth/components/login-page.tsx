import { useState, type FormEvent } from 'react';
import { Link, Navigate, useLocation, useNavigate } from 'react-router-dom';

import { FormAlert } from '@/components/ui/form-alert';
import { PasswordField } from '@/components/ui/password-field';
import { TextField } from '@/components/ui/text-field';
import { paths } from '@/config/paths';
import { login } from '@/features/auth/api/login';
import { loginSecondFactor } from '@/features/auth/api/login-2fa';
import { resendVerification } from '@/features/auth/api/resend-verification';
import { isMfaChallenge, type MfaChallenge } from '@/features/auth/types/auth';
import { errorCode, errorMessage } from '@/lib/api-client';
import { useAuth } from '@/lib/auth';
import { useOnline } from '@/lib/network';

export function LoginPage() {
  const { status, signIn } = useAuth();
  const navigate = useNavigate();
  const location = useLocation();
  const state = location.state as { from?: string; notice?: string } | null;
  const from = state?.from ?? paths.home;
  const [challenge, setChallenge] = useState<MfaChallenge | null>(null);

  if (status === 'signed-in') return <Navigate to={from} replace />;

  async function finish(pair: Parameters<typeof signIn>[0]) {
    await signIn(pair);
    navigate(from, { replace: true });
  }

  return (
    <section className="card narrow" aria-labelledby="login-title">
      {/* Why the user was signed out, e.g. after changing their password in Settings. */}
      {state?.notice && !challenge && <FormAlert kind="info">{state.notice}</FormAlert>}
      {challenge ? (
        <SecondFactorForm challenge={challenge} onDone={finish} onRestart={() => setChallenge(null)} />
      ) : (
        <PasswordForm
          onTokens={finish}
          onChallenge={(next) => {
            setChallenge(next);
          }}
        />
      )}
    </section>
  );
}

function PasswordForm({
  onTokens,
  onChallenge,
}: {
  onTokens: (pair: Parameters<ReturnType<typeof useAuth>['signIn']>[0]) => Promise<void>;
  onChallenge: (challenge: MfaChallenge) => void;
}) {
  const online = useOnline();
  const [loginName, setLoginName] = useState('');
  const [password, setPassword] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [unverified, setUnverified] = useState(false);
  const [notice, setNotice] = useState<string | null>(null);

  async function onSubmit(event: FormEvent) {
    event.preventDefault();
    setBusy(true);
    setError(null);
    setNotice(null);
    setUnverified(false);
    try {
      const result = await login({ login: loginName, password });
      if (isMfaChallenge(result)) onChallenge(result);
      else await onTokens(result);
    } catch (caught) {
      setError(errorMessage(caught));
      setUnverified(errorCode(caught) === 'email_not_verified');
    } finally {
      setBusy(false);
    }
  }

  async function onResend() {
    if (!loginName.includes('@')) {
      setNotice('Enter your email address above to receive a new verification link.');
      return;
    }
    try {
      setNotice((await resendVerification(loginName)).message);
    } catch (caught) {
      setError(errorMessage(caught));
    }
  }

  return (
    <form onSubmit={onSubmit} noValidate aria-labelledby="login-title">
      <h1 id="login-title">Sign in</h1>
      {error && (
        <FormAlert>
          {error}
          {unverified && (
            <>
              {' '}
              <button type="button" className="link-button" onClick={() => void onResend()}>
                Send a new verification email
              </button>
            </>
          )}
        </FormAlert>
      )}
      {notice && <FormAlert kind="info">{notice}</FormAlert>}
      <TextField
        label="Username or email"
        name="login"
        autoComplete="username"
        autoCapitalize="off"
        required
        value={loginName}
        onChange={(event) => setLoginName(event.target.value)}
      />
      <PasswordField
        autoComplete="current-password"
        name="password"
        required
        value={password}
        onChange={(event) => setPassword(event.target.value)}
      />
      <button type="submit" className="button button-block" disabled={busy || !online || !loginName || !password}>
        {busy ? 'Signing in…' : 'Sign in'}
      </button>
      {!online && <p className="field-hint">Signing in needs a connection.</p>}
      <p>
        New here? <Link to={paths.register}>Create an account</Link>
      </p>
    </form>
  );
}

function SecondFactorForm({
  challenge,
  onDone,
  onRestart,
}: {
  challenge: MfaChallenge;
  onDone: (pair: Parameters<ReturnType<typeof useAuth>['signIn']>[0]) => Promise<void>;
  onRestart: () => void;
}) {
  const [code, setCode] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  async function onSubmit(event: FormEvent) {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await onDone(await loginSecondFactor({ mfa_token: challenge.mfa_token, code: code.trim() }));
    } catch (caught) {
      setError(errorMessage(caught));
      setBusy(false);
    }
  }

  return (
    <form onSubmit={onSubmit} noValidate aria-labelledby="login-title">
      <h1 id="login-title">Two-step verification</h1>
      {error && <FormAlert>{error}</FormAlert>}
      <TextField
        label="Authentication code"
        name="code"
        autoComplete="one-time-code"
        autoCapitalize="off"
        autoFocus
        required
        hint="The 6-digit code from your authenticator app, or one of your backup codes."
        value={code}
        onChange={(event) => setCode(event.target.value)}
      />
      <button type="submit" className="button button-block" disabled={busy || code.trim().length < 6}>
        {busy ? 'Checking…' : 'Verify'}
      </button>
      <p>
        <button type="button" className="link-button" onClick={onRestart}>
          Start over
        </button>
      </p>
    </form>
  );
}
