import { useState } from 'react';
import { Link } from 'react-router-dom';

import { OfflinePage } from '@/components/layout/offline-page';
import { CachedDataBadge } from '@/components/ui/cached-data-badge';
import { paths } from '@/config/paths';
import { getUploads } from '@/features/history/api/get-uploads';
import { UploadDetails } from '@/features/history/components/upload-details';
import { UploadStateBadge } from '@/features/history/components/upload-state-badge';
import type { UploadsPage, UploadSummary } from '@/features/history/types/history';
import { useAuth } from '@/lib/auth';
import { useOnline } from '@/lib/network';
import { useCachedQuery } from '@/lib/use-cached-query';

const ACTIVE = new Set(['uploading', 'processing', 'queued', 'forwarding']);

function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  const units = ['KB', 'MB', 'GB', 'TB'];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${value.toFixed(value < 10 ? 1 : 0)} ${units[unit]}`;
}

export function HistoryPage() {
  const online = useOnline();
  const { user } = useAuth();
  const query = useCachedQuery<UploadsPage>(`history:uploads:${user?.id ?? 'anonymous'}`, () => getUploads(), {
    online,
    pollMs: 5000,
  });
  const items = query.data?.items ?? [];

  if (!query.data && !query.loading && !online) return <OfflinePage what="Your upload history" />;

  return (
    <section aria-labelledby="history-title" className="page">
      <div className="page-header">
        <h1 id="history-title">Upload history</h1>
        {query.fromCache && <CachedDataBadge updatedAt={query.updatedAt ?? undefined} />}
      </div>
      {query.error && (
        <p role="alert" className="alert alert-error">
          {query.error}{' '}
          <button type="button" className="link-button" onClick={query.reload}>
            Try again
          </button>
        </p>
      )}
      {query.loading && !query.data && <p role="status">Loading your uploads…</p>}
      {query.data && items.length === 0 && (
        <p>
          No uploads yet. <Link to={paths.upload}>Send a study</Link>.
        </p>
      )}
      {items.length > 0 && (
        <ul className="history-list" aria-label="Uploads">
          {items.map((item) => (
            <HistoryItem key={item.id} item={item} />
          ))}
        </ul>
      )}
      {query.data && query.data.total > items.length && (
        <p className="field-hint">
          Showing the latest {items.length} of {query.data.total} uploads.
        </p>
      )}
    </section>
  );
}

function HistoryItem({ item }: { item: UploadSummary }) {
  const [open, setOpen] = useState(item.state === 'failed');
  const detailsId = `upload-${item.id}-details`;
  return (
    <li className="history-item" data-upload-id={item.id} data-state={item.state}>
      <div className="history-item-head">
        <div>
          <p className="history-item-title">
            {item.patient_name} · {item.modality} · {item.study_date}
          </p>
          <p className="history-item-meta">
            {item.file_count} files, {formatBytes(item.total_bytes)} · {item.service_level} · sent{' '}
            <time dateTime={item.created_at}>{new Date(item.created_at).toLocaleString()}</time>
          </p>
        </div>
        <UploadStateBadge state={item.state} />
      </div>
      {ACTIVE.has(item.state) && <progress aria-label={`${item.patient_name}: ${item.state}`} />}
      <button
        type="button"
        className="link-button"
        aria-expanded={open}
        aria-controls={detailsId}
        onClick={() => setOpen((value) => !value)}
      >
        {open ? 'Hide details' : 'Show details'}
        <span className="visually-hidden"> for {item.patient_name}</span>
      </button>
      <div id={detailsId} hidden={!open}>
        {open && <UploadDetails uploadId={item.id} />}
      </div>
    </li>
  );
}
