import type { SaveOutcome } from '@/lib/preferences/preferences-store';

/** What happened to the last change: saved, kept for later (offline) or refused. */
export function SaveStatus({ outcome }: { outcome: SaveOutcome | null }) {
  return (
    <p className="field-hint settings-save-status" role="status" data-testid="preferences-save-status">
      {outcome?.kind === 'saved' && 'Saved.'}
      {outcome?.kind === 'queued' &&
        'Saved on this device. You are offline: the change is used here now and sent when you are back online.'}
      {outcome?.kind === 'refused' && `Not saved: ${outcome.message}`}
    </p>
  );
}

/** The offline policy and the state of changes waiting for the network. */
export function OfflineNotice({
  pending,
  refused,
  onDismiss,
}: {
  pending: boolean;
  refused: string | null;
  onDismiss: () => void;
}) {
  return (
    <>
      <p className="field-hint">
        These settings are kept on this device, so they work offline. A change made offline is used here at once
        and sent to the server when you are back online.
      </p>
      {pending && (
        <p className="alert alert-info" role="status" data-testid="preferences-pending">
          Changes made offline are waiting to be sent.
        </p>
      )}
      {refused && (
        <div className="alert alert-error" role="alert">
          <p>{refused}</p>
          <button type="button" className="link-button" onClick={onDismiss}>
            Dismiss
          </button>
        </div>
      )}
    </>
  );
}
