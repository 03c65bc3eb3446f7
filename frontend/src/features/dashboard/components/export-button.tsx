import { useState } from 'react';

import { downloadStatsCsv } from '@/features/dashboard/api/export-stats';
import type { StatsQuery } from '@/features/dashboard/types/stats';
import { errorMessage } from '@/lib/api-client';
import { useOnline } from '@/lib/network';

/** "Export CSV" (admins): the export of what the screen shows, fetched with the token in a header. */
export function ExportButton({ query }: { query: StatsQuery }) {
  const online = useOnline();
  const [busy, setBusy] = useState(false);
  const [message, setMessage] = useState<{ kind: 'ok' | 'error'; text: string } | null>(null);

  async function onExport() {
    setBusy(true);
    setMessage(null);
    try {
      const filename = await downloadStatsCsv(query);
      setMessage({ kind: 'ok', text: `Saved ${filename}.` });
    } catch (caught) {
      setMessage({ kind: 'error', text: errorMessage(caught, 'The export failed. Please try again.') });
    } finally {
      setBusy(false);
    }
  }

  return (
    <div className="export">
      <button
        type="button"
        className="button button-secondary"
        disabled={busy || !online}
        onClick={() => void onExport()}
      >
        {busy ? 'Exporting…' : 'Export CSV'}
      </button>
      <span className={message?.kind === 'error' ? 'field-error' : 'field-hint'} role="status">
        {message?.text ?? (online ? '' : 'The export needs a connection.')}
      </span>
    </div>
  );
}
