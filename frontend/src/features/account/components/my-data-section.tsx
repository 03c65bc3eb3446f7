import { useState } from 'react';

import '@/features/account/components/account.css';
import { FormAlert } from '@/components/ui/form-alert';
import { downloadMyData } from '@/features/account/api/export';
import { errorMessage } from '@/lib/api-client';
import { useOnline } from '@/lib/network';

/** Settings → My data: everything the gateway holds about the user, as a JSON file (GDPR). */
export function MyDataSection() {
  const online = useOnline();
  const [busy, setBusy] = useState(false);
  const [saved, setSaved] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);

  async function download() {
    setBusy(true);
    setError(null);
    setSaved(null);
    try {
      setSaved(await downloadMyData());
    } catch (caught) {
      setError(errorMessage(caught));
    } finally {
      setBusy(false);
    }
  }

  return (
    <section className="settings-section" aria-labelledby="my-data-title">
      <h2 id="my-data-title">My data</h2>
      <p>
        Download a copy of everything stored about you: your account, preferences, sign-in sessions, uploads, reports,
        notifications and your audit trail, as one JSON file.
      </p>
      {error && <FormAlert>{error}</FormAlert>}
      {saved && <FormAlert kind="success">Saved {saved}.</FormAlert>}
      <button type="button" className="button" disabled={busy || !online} onClick={() => void download()}>
        {busy ? 'Preparing your data…' : 'Download my data (JSON)'}
      </button>
      {!online && <p className="field-hint">Downloading your data needs a connection.</p>}
    </section>
  );
}
