import { useState } from 'react';
import { useNavigate } from 'react-router-dom';

import '@/features/account/components/account.css';
import { CachedDataBadge } from '@/components/ui/cached-data-badge';
import { FormAlert } from '@/components/ui/form-alert';
import { paths } from '@/config/paths';
import { listSessions, revokeAllSessions, revokeSession } from '@/features/account/api/sessions';
import { ReauthCancelled, useReauth } from '@/features/account/hooks/use-reauth';
import type { AccountSession } from '@/features/account/types/account';
import { errorMessage } from '@/lib/api-client';
import { useAuth } from '@/lib/auth';
import { useOnline } from '@/lib/network';
import { useCachedQuery } from '@/lib/use-cached-query';

export const SIGNED_OUT_EVERYWHERE_NOTICE = 'You were signed out on every device, this one too.';

function describe(session: AccountSession): string {
  return [session.browser, session.device].filter(Boolean).join(' on ') || 'Unknown device';
}

function When({ iso }: { iso: string }) {
  const date = new Date(iso);
  return <time dateTime={date.toISOString()}>{date.toLocaleString()}</time>;
}

/** Settings → Sessions: every live sign-in; sign one out, all others, or everywhere. */
export function SessionsSection() {
  const online = useOnline();
  const navigate = useNavigate();
  const { user, signOut } = useAuth();
  const sessions = useCachedQuery('account:sessions', listSessions, { online });
  const { run, prompt } = useReauth({ mfaEnabled: Boolean(user?.mfa_enabled) });
  const [busy, setBusy] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [confirmEverywhere, setConfirmEverywhere] = useState(false);

  async function act(key: string, action: () => Promise<string | null>) {
    setBusy(key);
    setError(null);
    setNotice(null);
    try {
      setNotice(await action());
      sessions.reload();
    } catch (caught) {
      if (!(caught instanceof ReauthCancelled)) setError(errorMessage(caught));
    } finally {
      setBusy(null);
    }
  }

  async function everywhere() {
    setBusy('everywhere');
    setError(null);
    try {
      await run(() => revokeAllSessions({ includeCurrent: true }));
    } catch (caught) {
      if (!(caught instanceof ReauthCancelled)) setError(errorMessage(caught));
      setBusy(null);
      return;
    }
    await signOut();
    navigate(paths.login, { replace: true, state: { notice: SIGNED_OUT_EVERYWHERE_NOTICE } });
  }

  const items = sessions.data ?? [];
  const others = items.filter((session) => !session.current).length;
  return (
    <section className="settings-section" aria-labelledby="sessions-title">
      <h2 id="sessions-title">Sessions</h2>
      <p className="field-hint">Where your account is signed in now. Sign out anything you do not recognise.</p>
      {sessions.fromCache && <CachedDataBadge updatedAt={sessions.updatedAt ?? undefined} />}
      {sessions.error && <FormAlert>{sessions.error}</FormAlert>}
      {error && <FormAlert>{error}</FormAlert>}
      {notice && <FormAlert kind="success">{notice}</FormAlert>}
      {prompt}
      {sessions.data && (
      <ul className="session-list" aria-label="Active sessions">
        {items.map((session) => (
          <li key={session.id} className="session-item" data-session-id={session.id} data-current={session.current}>
            <div className="session-head">
              <strong>{describe(session)}</strong>
              {session.current && <span className="badge">This device</span>}
            </div>
            <dl className="facts">
              <dt>IP address</dt>
              <dd className="mono">{session.ip ?? 'Unknown'}</dd>
              <dt>Signed in</dt>
              <dd>
                <When iso={session.created_at} />
              </dd>
              <dt>Last seen</dt>
              <dd>
                <When iso={session.last_seen_at} />
              </dd>
            </dl>
            {!session.current && (
              <button
                type="button"
                className="button button-secondary"
                disabled={busy !== null || !online}
                aria-label={`Sign out ${describe(session)} (IP ${session.ip ?? 'unknown'})`}
                onClick={() =>
                  void act(session.id, async () => {
                    await revokeSession(session.id);
                    return `Signed out ${describe(session)}.`;
                  })
                }
              >
                {busy === session.id ? 'Signing out…' : 'Sign out'}
              </button>
            )}
          </li>
        ))}
      </ul>
      )}
      {sessions.loading && !sessions.data && (
        <p role="status" className="page-status">
          Loading sessions…
        </p>
      )}
      <div className="button-row">
        <button
          type="button"
          className="button button-secondary"
          disabled={busy !== null || !online || others === 0}
          onClick={() =>
            void act('others', async () => {
              const revoked = await run(() => revokeAllSessions({ includeCurrent: false }));
              return revoked === 1 ? 'Signed out 1 other session.' : `Signed out ${revoked} other sessions.`;
            })
          }
        >
          Sign out all other devices
        </button>
        {!confirmEverywhere && (
          <button
            type="button"
            className="button button-secondary"
            disabled={busy !== null || !online}
            onClick={() => setConfirmEverywhere(true)}
          >
            Sign out everywhere
          </button>
        )}
      </div>
      {confirmEverywhere && (
        <div className="confirm" role="group" aria-labelledby="everywhere-title">
          <p id="everywhere-title">
            <strong>Sign out everywhere?</strong> Every session ends, this one too: you sign in again here.
          </p>
          <div className="button-row">
            <button type="button" className="button" disabled={busy !== null || !online} onClick={() => void everywhere()}>
              {busy === 'everywhere' ? 'Signing out…' : 'Yes, sign out everywhere'}
            </button>
            <button type="button" className="button button-secondary" onClick={() => setConfirmEverywhere(false)}>
              Cancel
            </button>
          </div>
        </div>
      )}
      {!online && <p className="field-hint">Signing sessions out needs a connection.</p>}
    </section>
  );
}
