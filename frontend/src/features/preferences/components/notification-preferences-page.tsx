import { useState, type ReactNode } from 'react';

import { OfflineNotice, SaveStatus } from '@/features/preferences/components/save-status';
import type { NotificationChannels, SaveOutcome } from '@/lib/preferences/preferences-store';
import { usePreferences } from '@/lib/preferences/use-preferences';

import './settings.css';

const TYPE_LABELS: Record<string, string> = {
  upload_complete: 'Upload complete',
  upload_failed: 'Upload failed',
  report_assigned: 'Report assigned',
  report_ready: 'Report ready',
  additional_data_required: 'Additional data required',
};

const CHANNELS: { key: keyof NotificationChannels; label: string }[] = [
  { key: 'in_app', label: 'In the app' },
  { key: 'push', label: 'Push' },
  { key: 'email', label: 'Email' },
];

function label(type: string): string {
  return TYPE_LABELS[type] ?? type.replace(/_/g, ' ').replace(/^./, (c) => c.toUpperCase());
}

export interface NotificationPreferencesPageProps {
  /** This device's push subscription control (the notifications feature's toggle). */
  pushControl?: ReactNode;
}

/** Settings → Notifications: for each kind of notification, where it reaches the user. */
export function NotificationPreferencesPage({ pushControl }: NotificationPreferencesPageProps) {
  const { preferences, pending, refused, loaded, save, dismissRefused } = usePreferences();
  const [outcome, setOutcome] = useState<SaveOutcome | null>(null);

  async function toggle(type: string, current: NotificationChannels, channel: keyof NotificationChannels, on: boolean) {
    setOutcome(null);
    setOutcome(await save({ notifications: { [type]: { ...current, [channel]: on } } }));
  }

  const types = Object.entries(preferences?.notifications ?? {});
  return (
    <div className="settings-page">
      <div className="page-header">
        <h2>Notifications</h2>
      </div>
      <section className="card settings-form" aria-labelledby="push-device-title">
        <h2 id="push-device-title">This device</h2>
        <p className="field-hint">
          Push notifications reach this browser even when the app is closed. Turn them on for each device you use.
        </p>
        {pushControl}
      </section>
      <OfflineNotice pending={pending} refused={refused} onDismiss={dismissRefused} />
      {!preferences ? (
        <p className="page-status" role="status">
          {loaded ? 'Your preferences have not been loaded on this device yet. Connect once to load them.' : 'Loading…'}
        </p>
      ) : (
        <form className="card settings-form" onSubmit={(event) => event.preventDefault()}>
          <h2>What you are told, and where</h2>
          <p className="field-hint">
            “Push” applies to every device where push is on; “Email” goes to your account’s address.
          </p>
          {types.map(([type, channels]) => (
            <fieldset key={type} className="settings-channels" data-testid={`notify-${type}`}>
              <legend>{label(type)}</legend>
              <div className="settings-options settings-options--row">
                {CHANNELS.map(({ key, label: channelLabel }) => (
                  <label key={key} className="checkbox">
                    <input
                      type="checkbox"
                      checked={channels[key] ?? false}
                      aria-label={`${label(type)}: ${channelLabel}`}
                      onChange={(event) => void toggle(type, channels, key, event.target.checked)}
                    />
                    {channelLabel}
                  </label>
                ))}
              </div>
            </fieldset>
          ))}
          <SaveStatus outcome={outcome} />
        </form>
      )}
    </div>
  );
}
