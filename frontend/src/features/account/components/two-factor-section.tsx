import { useState, type FormEvent } from 'react';

import '@/features/account/components/account.css';
import { CachedDataBadge } from '@/components/ui/cached-data-badge';
import { FormAlert } from '@/components/ui/form-alert';
import { TextField } from '@/components/ui/text-field';
import { disableMfa, enableMfa, getMfaStatus, regenerateBackupCodes, setupMfa } from '@/features/account/api/mfa';
import { BackupCodesPanel } from '@/features/account/components/backup-codes-panel';
import { MfaEnrolment } from '@/features/account/components/mfa-enrolment';
import { ReauthCancelled, useReauth } from '@/features/account/hooks/use-reauth';
import type { MfaSetup, MfaStatus } from '@/features/account/types/account';
import { errorMessage } from '@/lib/api-client';
import { useAuth } from '@/lib/auth';
import { useOnline } from '@/lib/network';
import { useCachedQuery } from '@/lib/use-cached-query';

type Step = { kind: 'status' } | { kind: 'enrol'; setup: MfaSetup } | { kind: 'codes'; codes: string[] };

/** Settings → Security → Two-factor authentication: status, enable, backup codes, disable. */
export function TwoFactorSection() {
  const online = useOnline();
  const { user } = useAuth();
  const status = useCachedQuery('account:mfa', getMfaStatus, { online });
  const { run, prompt } = useReauth({ mfaEnabled: status.data?.enabled ?? Boolean(user?.mfa_enabled) });
  const [step, setStep] = useState<Step>({ kind: 'status' });
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [notice, setNotice] = useState<string | null>(null);

  async function act(action: () => Promise<void>) {
    setBusy(true);
    setError(null);
    setNotice(null);
    try {
      await action();
    } catch (caught) {
      if (!(caught instanceof ReauthCancelled)) setError(errorMessage(caught));
    } finally {
      setBusy(false);
    }
  }

  const start = () => act(async () => setStep({ kind: 'enrol', setup: await run(setupMfa) }));
  const regenerate = () => act(async () => setStep({ kind: 'codes', codes: await run(regenerateBackupCodes) }));

  async function confirm(code: string) {
    const codes = await run(() => enableMfa(code));
    setStep({ kind: 'codes', codes });
    status.reload();
  }

  return (
    <section className="settings-section" aria-labelledby="mfa-title">
      <h2 id="mfa-title">Two-factor authentication</h2>
      {status.fromCache && <CachedDataBadge updatedAt={status.updatedAt ?? undefined} />}
      {error && <FormAlert>{error}</FormAlert>}
      {notice && <FormAlert kind="success">{notice}</FormAlert>}
      {status.data && <StatusLine status={status.data} />}
      {status.error && <FormAlert>{status.error}</FormAlert>}
      {prompt}
      {step.kind === 'codes' && (
        <BackupCodesPanel
          codes={step.codes}
          username={user?.username ?? ''}
          onDone={() => {
            setStep({ kind: 'status' });
            status.reload();
          }}
        />
      )}
      {step.kind === 'enrol' && (
        <MfaEnrolment setup={step.setup} online={online} onConfirm={confirm} onCancel={() => setStep({ kind: 'status' })} />
      )}
      {step.kind === 'status' && status.data && !status.data.enabled && (
        <div className="button-row">
          <button type="button" className="button" disabled={busy || !online} onClick={() => void start()}>
            Set up two-factor authentication
          </button>
        </div>
      )}
      {step.kind === 'status' && status.data?.enabled && (
        <>
          <div className="button-row">
            <button type="button" className="button button-secondary" disabled={busy || !online} onClick={() => void regenerate()}>
              Generate new backup codes
            </button>
          </div>
          <DisableForm
            online={online}
            busy={busy}
            onDisable={(code) =>
              act(async () => {
                await run(() => disableMfa(code));
                setNotice('Two-factor authentication is off.');
                status.reload();
              })
            }
          />
        </>
      )}
      {!online && <p className="field-hint">Changing two-factor authentication needs a connection.</p>}
    </section>
  );
}

function StatusLine({ status }: { status: MfaStatus }) {
  if (!status.enabled) {
    return (
      <p className="mfa-status" data-mfa="off">
        <strong>Off.</strong> Signing in needs only your password. Turn it on so a stolen password is not enough.
      </p>
    );
  }
  const since = status.enabled_at ? new Date(status.enabled_at) : null;
  const low = status.backup_codes_remaining <= 2;
  return (
    <p className="mfa-status" data-mfa="on" data-backup-codes={status.backup_codes_remaining}>
      <strong>On</strong>
      {since && (
        <>
          {' '}
          since <time dateTime={since.toISOString()}>{since.toLocaleDateString()}</time>
        </>
      )}
      . Backup codes left: <strong>{status.backup_codes_remaining}</strong>.
      {low && ' Generate new ones before you run out.'}
    </p>
  );
}

function DisableForm({ online, busy, onDisable }: { online: boolean; busy: boolean; onDisable: (code: string) => Promise<void> }) {
  const [code, setCode] = useState('');
  function onSubmit(event: FormEvent) {
    event.preventDefault();
    void onDisable(code.replace(/\s/g, '')).then(() => setCode(''));
  }
  return (
    <form className="mfa-disable" onSubmit={onSubmit} noValidate aria-labelledby="mfa-disable-title">
      <h3 id="mfa-disable-title">Turn off two-factor authentication</h3>
      <TextField
        label="Current code from your authenticator app"
        name="disable_code"
        autoComplete="one-time-code"
        inputMode="numeric"
        maxLength={7}
        hint="A backup code does not work here."
        value={code}
        onChange={(event) => setCode(event.target.value)}
      />
      <button type="submit" className="button button-secondary" disabled={busy || !online || code.replace(/\s/g, '').length !== 6}>
        Turn off two-factor authentication
      </button>
    </form>
  );
}
