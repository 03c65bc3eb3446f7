import { UploadQueueItem } from '@/features/upload/components/upload-queue-item';
import { formatBytes, formatDuration, formatSpeed, percent } from '@/features/upload/utils/format';
import type { QueueSnapshot, UploadRunner } from '@/features/upload/utils/upload-runner';

interface UploadQueueProps {
  snapshot: QueueSnapshot;
  runner: UploadRunner;
  online: boolean;
}

/** Overall progress and one row per queued, running or finished upload. */
export function UploadQueue({ snapshot, runner, online }: UploadQueueProps) {
  const { entries, overall } = snapshot;
  if (entries.length === 0) return null;
  const pct = percent(overall.doneBytes, overall.totalBytes);
  const finished = entries.filter((v) => v.entry.state === 'completed');

  return (
    <section className="upload-queue" aria-labelledby="upload-queue-title">
      <h2 id="upload-queue-title">Uploads on this device</h2>
      {overall.totalBytes > 0 && (
        <div className="upload-overall" data-testid="upload-overall">
          <progress max={100} value={pct} aria-label="Overall upload progress" aria-valuetext={`${pct}%`} />
          <p>
            {formatBytes(overall.doneBytes)} of {formatBytes(overall.totalBytes)} ({pct}%) ·{' '}
            {formatSpeed(overall.bytesPerSecond)} · {formatDuration(overall.etaSeconds)} left
          </p>
        </div>
      )}
      <ul className="upload-list">
        {entries.map((view) => (
          <UploadQueueItem
            key={view.entry.id}
            view={view}
            online={online}
            onPause={(id) => runner.pause(id)}
            onResume={(id) => void runner.resume(id)}
            onCancel={(id) => void runner.cancel(id)}
            onSendAnyway={(id) => void runner.sendAnyway(id)}
            onRetry={(id) => void runner.retry(id)}
            onDismiss={(id) => void runner.dismiss(id)}
          />
        ))}
      </ul>
      {finished.length > 1 && (
        <button
          type="button"
          className="btn btn--small"
          onClick={() => finished.forEach((v) => void runner.dismiss(v.entry.id))}
        >
          Clear finished
        </button>
      )}
    </section>
  );
}
