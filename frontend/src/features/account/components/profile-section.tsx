import { useCallback } from 'react';

import '@/features/account/components/account.css';
import { CachedDataBadge } from '@/components/ui/cached-data-badge';
import { FormAlert } from '@/components/ui/form-alert';
import { getProfile, updateProfileField } from '@/features/account/api/profile';
import { AutoSaveTextField } from '@/features/account/components/auto-save-field';
import { useAutoSaveField } from '@/features/account/hooks/use-auto-save-field';
import { useReauth } from '@/features/account/hooks/use-reauth';
import type { Profile } from '@/features/account/types/account';
import { useAuth } from '@/lib/auth';
import { useOnline } from '@/lib/network';
import { useCachedQuery } from '@/lib/use-cached-query';

const ROLE_LABELS: Record<Profile['role'], string> = {
  clinician: 'Clinician',
  radiographer: 'Radiographer',
  radiologist: 'Radiologist',
  admin: 'Administrator',
};

/** Settings → Profile: name and email saved on blur; username, role and facility read-only. */
export function ProfileSection() {
  const online = useOnline();
  const { user } = useAuth();
  const profile = useCachedQuery('account:profile', getProfile, { online });
  return (
    <section className="settings-section" aria-labelledby="profile-title">
      <h2 id="profile-title">Profile</h2>
      {profile.fromCache && <CachedDataBadge updatedAt={profile.updatedAt ?? undefined} />}
      {profile.error && <FormAlert>{profile.error}</FormAlert>}
      {profile.loading && !profile.data && (
        <p role="status" className="page-status">
          Loading your profile…
        </p>
      )}
      {profile.data && (
        <ProfileForm profile={profile.data} online={online} mfaEnabled={Boolean(user?.mfa_enabled)} onSaved={profile.reload} />
      )}
    </section>
  );
}

function ProfileForm({
  profile,
  online,
  mfaEnabled,
  onSaved,
}: {
  profile: Profile;
  online: boolean;
  mfaEnabled: boolean;
  onSaved: () => void;
}) {
  const { run, prompt } = useReauth({ mfaEnabled });
  const saveName = useCallback(
    async (value: string) => {
      await updateProfileField('full_name', value);
      onSaved();
    },
    [onSaved],
  );
  // An email change needs a recent sign-in, and waits for the link mailed to the new address.
  const saveEmail = useCallback(
    async (value: string) => {
      await run(() => updateProfileField('email', value));
      onSaved();
    },
    [onSaved, run],
  );
  const fullName = useAutoSaveField({ saved: profile.full_name, save: saveName, online });
  const email = useAutoSaveField({
    saved: profile.pending_email ?? profile.email,
    save: saveEmail,
    online,
    normalise: (value) => value.trim().toLowerCase(),
  });

  return (
    <>
      <p className="field-hint">Changes are saved when you leave a field.</p>
      <form noValidate onSubmit={(event) => event.preventDefault()} aria-labelledby="profile-title">
        <AutoSaveTextField label="Full name" name="full_name" autoComplete="name" required field={fullName} />
        <AutoSaveTextField
          label="Email"
          name="email"
          type="email"
          inputMode="email"
          autoComplete="email"
          required
          field={email}
          note={
            profile.pending_email ? (
              <span className="pending-email" data-pending-email={profile.pending_email}>
                <strong>Pending verification:</strong> open the link we sent to {profile.pending_email}. Until then we
                keep writing to {profile.email}.{' '}
              </span>
            ) : null
          }
        />
      </form>
      {prompt}
      <dl className="facts">
        <dt>Username</dt>
        <dd>{profile.username}</dd>
        <dt>Role</dt>
        <dd>{ROLE_LABELS[profile.role]}</dd>
        <dt>Facility</dt>
        <dd>{profile.facility ?? 'None'}</dd>
      </dl>
      <p className="field-hint">An administrator changes your username, role and facility.</p>
      {profile.membership && (
        <p className="field-hint">
          Requested: {ROLE_LABELS[profile.membership.role]}
          {profile.membership.facility ? ` at ${profile.membership.facility}` : ''}, waiting for an administrator.
        </p>
      )}
    </>
  );
}
