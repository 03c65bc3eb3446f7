import type { UploadState } from '@/features/history/types/history';

const LABELS: Record<UploadState, string> = {
  uploading: 'Uploading',
  processing: 'Processing',
  queued: 'Queued for PACS',
  forwarding: 'Forwarding',
  forwarded: 'Forwarded',
  failed: 'Failed',
  expired: 'Expired',
  cancelled: 'Cancelled',
};

export function UploadStateBadge({ state }: { state: UploadState }) {
  return (
    <span className={`badge state state-${state}`} data-state={state}>
      {LABELS[state] ?? state}
    </span>
  );
}
