import { useEffect, useRef, useState } from 'react';
import { Link, useSearchParams } from 'react-router-dom';

import { FormAlert } from '@/components/ui/form-alert';
import { paths } from '@/config/paths';
import { verifyEmail } from '@/features/auth/api/verify-email';
import { errorMessage } from '@/lib/api-client';

type Outcome = { kind: 'pending' } | { kind: 'verified' } | { kind: 'invalid'; message: string };

/**
 * Where the mailed link ends up. The server verifies `/api/auth/verify-email?token=…` itself and
 * redirects a browser here with `?result=verified|invalid`; a `?token=` link is also accepted
 * (it is verified with a POST and removed from the address bar and history at once).
 */
export function VerifyEmailPage() {
  const [params] = useSearchParams();
  const token = params.get('token');
  const result = params.get('result');
  const [outcome, setOutcome] = useState<Outcome>(() =>
    token
      ? { kind: 'pending' }
      : result === 'verified'
        ? { kind: 'verified' }
        : { kind: 'invalid', message: 'This verification link is invalid, expired or already used.' },
  );
  const started = useRef(false);

  useEffect(() => {
    if (!token || started.current) return;
    started.current = true;
    window.history.replaceState(window.history.state, '', paths.verifyEmail);
    verifyEmail(token)
      .then(() => setOutcome({ kind: 'verified' }))
      .catch((error: unknown) => setOutcome({ kind: 'invalid', message: errorMessage(error) }));
  }, [token]);

  return (
    <section className="card narrow" aria-labelledby="verify-title">
      {outcome.kind === 'pending' && (
        <h1 id="verify-title" role="status">
          Verifying your email…
        </h1>
      )}
      {outcome.kind === 'verified' && (
        <>
          <h1 id="verify-title">Email verified</h1>
          <FormAlert kind="success">Your email address is confirmed. You can sign in now.</FormAlert>
          <p>
            <Link className="button" to={paths.login}>
              Sign in
            </Link>
          </p>
        </>
      )}
      {outcome.kind === 'invalid' && (
        <>
          <h1 id="verify-title">Link not valid</h1>
          <FormAlert>{outcome.message}</FormAlert>
          <p>
            Sign in with your email address to get a new link, or <Link to={paths.register}>register again</Link>.
          </p>
          <p>
            <Link to={paths.login}>Go to sign in</Link>
          </p>
        </>
      )}
    </section>
  );
}
