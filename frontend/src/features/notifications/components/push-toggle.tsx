import { useEffect, useState } from 'react';

import { getPushConfig } from '@/features/notifications/api/notifications';
import { currentPushSubscription, disablePush, enablePush, pushSupported } from '@/features/notifications/utils/push';
import { errorMessage } from '@/lib/api-client';

type Availability = 'checking' | 'unsupported' | 'not-configured' | 'available';

/** "Notify me on this device": Web Push for this browser, on or off. */
export function PushToggle() {
  const [availability, setAvailability] = useState<Availability>('checking');
  const [enabled, setEnabled] = useState(false);
  const [busy, setBusy] = useState(false);
  const [message, setMessage] = useState<string | null>(null);

  useEffect(() => {
    let cancelled = false;
    (async () => {
      if (!pushSupported()) {
        setAvailability('unsupported');
        return;
      }
      try {
        const config = await getPushConfig();
        if (cancelled) return;
        if (!config.enabled) {
          setAvailability('not-configured');
          return;
        }
        const subscription = await currentPushSubscription();
        if (cancelled) return;
        setEnabled(subscription !== null && Notification.permission === 'granted');
        setAvailability('available');
      } catch {
        if (!cancelled) setAvailability('not-configured');
      }
    })();
    return () => {
      cancelled = true;
    };
  }, []);

  if (availability === 'checking' || availability === 'not-configured') return null;

  async function onChange(checked: boolean) {
    setBusy(true);
    setMessage(null);
    try {
      if (checked) {
        const result = await enablePush();
        if (result === 'enabled') {
          setEnabled(true);
          setMessage('This device will be notified even when the app is closed.');
        } else if (result === 'denied') {
          setMessage('Notifications are blocked for this site. Allow them in the browser settings.');
        } else {
          setMessage('Push notifications are not available.');
        }
      } else {
        await disablePush();
        setEnabled(false);
        setMessage('This device will no longer be notified.');
      }
    } catch (caught) {
      setMessage(errorMessage(caught, 'Could not change push notifications. Please try again.'));
    } finally {
      setBusy(false);
    }
  }

  return (
    <div className="card push-toggle">
      {availability === 'unsupported' ? (
        <p className="field-hint">This browser cannot receive push notifications.</p>
      ) : (
        <label className="checkbox">
          <input
            type="checkbox"
            checked={enabled}
            disabled={busy}
            onChange={(event) => void onChange(event.target.checked)}
          />
          Notify me on this device
        </label>
      )}
      {message && (
        <p role="status" className="field-hint">
          {message}
        </p>
      )}
    </div>
  );
}
