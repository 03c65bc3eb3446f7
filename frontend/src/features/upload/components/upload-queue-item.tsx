import type { EntryView } from '@/features/upload/utils/upload-runner';
import { formatBytes, formatDuration, formatSpeed, percent } from '@/features/upload/utils/format';

interface UploadQueueItemProps {
  view: EntryView;
  online: boolean;
  onPause: (id: string) => void;
  onResume: (id: string) => void;
  onCancel: (id: string) => void;
  onSendAnyway: (id: string) => void;
  onRetry: (id: string) => void;
  onDismiss: (id: string) => void;
}

function stateLabel(view: EntryView, online: boolean): string {
  const { entry } = view;
  switch (entry.state) {
    case 'pending':
      return online ? 'Waiting to start' : 'Queued — will send when online';
    case 'uploading':
      if (view.sending) return view.progress?.phase === 'completing' ? 'Finishing' : 'Uploading';
      if (view.elsewhere) return 'Sending in the background';
      return online ? 'Waiting to resume' : 'Queued — will resume when online';
    case 'paused':
      return 'Paused';
    case 'duplicate':
      return 'Possible duplicate';
    case 'completed':
      return 'Sent';
    case 'failed':
      return 'Failed';
  }
}

export function UploadQueueItem({
  view,
  online,
  onPause,
  onResume,
  onCancel,
  onSendAnyway,
  onRetry,
  onDismiss,
}: UploadQueueItemProps) {
  const { entry, progress } = view;
  const done = entry.state === 'completed' ? entry.totalBytes : (progress?.doneBytes ?? entry.doneBytes ?? 0);
  const pct = percent(done, entry.totalBytes);
  const title = `${entry.metadata.modality} · ${entry.metadata.patient_name} · ${entry.metadata.study_date}`;
  const label = stateLabel(view, online);
  const duplicate = entry.duplicateOf as { created_at?: string; state?: string } | undefined;

  return (
    <li
      className={`upload-item upload-item--${entry.state}`}
      data-testid="upload-item"
      data-state={entry.state}
      data-upload-id={entry.server?.uploadId ?? ''}
    >
      <div className="upload-item__head">
        <span className="upload-item__title">{title}</span>
        <span className="upload-item__state" data-testid="upload-item-state">
          {label}
        </span>
      </div>
      <progress
        className="upload-item__bar"
        max={100}
        value={pct}
        aria-label={`Progress of ${title}`}
        aria-valuetext={`${pct}%`}
      />
      <div className="upload-item__meta">
        <span>
          {entry.files.length} file{entry.files.length === 1 ? '' : 's'} · {formatBytes(done)} of{' '}
          {formatBytes(entry.totalBytes)} ({pct}%)
        </span>
        {view.sending && progress && (
          <span>
            {formatSpeed(progress.bytesPerSecond)} · {formatDuration(progress.etaSeconds)} left
          </span>
        )}
      </div>
      {entry.state === 'duplicate' && (
        <div className="upload-item__alert" role="alert">
          This looks like a study uploaded recently
          {duplicate?.created_at ? ` (on ${new Date(duplicate.created_at).toLocaleString()})` : ''}. Send it
          anyway only if it is a different study or was not received.
        </div>
      )}
      {entry.state === 'failed' && entry.error && (
        <div className="upload-item__alert" role="alert">
          {entry.error.message}
        </div>
      )}
      {entry.state === 'completed' && entry.result && (
        <div className="upload-item__ok">
          Received: {entry.result.instances ?? '?'} instance(s), state {entry.result.serverState}.
        </div>
      )}
      <div className="upload-item__actions">
        {entry.state === 'uploading' && view.sending && (
          <button type="button" className="btn btn--small" onClick={() => onPause(entry.id)}>
            Pause
          </button>
        )}
        {entry.state === 'paused' && (
          <button type="button" className="btn btn--small" onClick={() => onResume(entry.id)}>
            Resume
          </button>
        )}
        {entry.state === 'duplicate' && (
          <button type="button" className="btn btn--small btn--primary" onClick={() => onSendAnyway(entry.id)}>
            Send anyway
          </button>
        )}
        {entry.state === 'failed' && (
          <button type="button" className="btn btn--small" onClick={() => onRetry(entry.id)}>
            Try again
          </button>
        )}
        {entry.state === 'completed' || entry.state === 'failed' || entry.state === 'duplicate' ? (
          <button type="button" className="btn btn--small" onClick={() => onDismiss(entry.id)}>
            {entry.state === 'completed' ? 'Dismiss' : 'Discard'}
          </button>
        ) : (
          <button type="button" className="btn btn--small btn--danger" onClick={() => onCancel(entry.id)}>
            Cancel
          </button>
        )}
      </div>
    </li>
  );
}
