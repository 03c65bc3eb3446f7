import { useId, useLayoutEffect, useRef } from 'react';

import { uploadsPhrase } from '@/features/device/utils/format';

export interface ClearDataDialogProps {
  /** Unsent uploads on this device, counted when the dialog opened. */
  unsent: number;
  busy: boolean;
  error: string | null;
  onConfirm: () => void;
  onCancel: () => void;
}

/**
 * The confirmation of "Clear local data". It names how many queued uploads would be lost;
 * Cancel (focused first, and Escape) keeps everything.
 */
export function ClearDataDialog({ unsent, busy, error, onConfirm, onCancel }: ClearDataDialogProps) {
  const id = useId();
  const cancelRef = useRef<HTMLButtonElement>(null);
  // Layout effects: in place when the dialog is in the document, before anything can
  // press a key (a passive effect runs later, and an Escape pressed at once was lost).
  useLayoutEffect(() => {
    cancelRef.current?.focus();
  }, []);
  // Escape cancels wherever the focus is while the dialog is open (also in the moment
  // before Cancel has taken it).
  useLayoutEffect(() => {
    const onKeyDown = (event: KeyboardEvent) => {
      if (event.key === 'Escape' && !busy) onCancel();
    };
    document.addEventListener('keydown', onKeyDown);
    return () => document.removeEventListener('keydown', onKeyDown);
  }, [busy, onCancel]);
  return (
    <div
      className="device-confirm"
      role="alertdialog"
      aria-modal="false"
      aria-labelledby={`${id}-title`}
      aria-describedby={`${id}-body`}
      data-testid="clear-data-dialog"
    >
      <h3 id={`${id}-title`}>Clear local data?</h3>
      <div id={`${id}-body`}>
        {unsent > 0 ? (
          <p className="device-confirm__loss" data-testid="clear-data-loss">
            <strong>
              {uploadsPhrase(unsent)} {unsent === 1 ? 'has' : 'have'} not been fully sent and would be lost.
            </strong>{' '}
            Their files are only on this device.
          </p>
        ) : (
          <p data-testid="clear-data-loss">No queued uploads would be lost.</p>
        )}
        <p>Cached reports and lists and this device’s settings are removed too. You stay signed in.</p>
      </div>
      {error && (
        <p className="alert alert-error" role="alert">
          {error}
        </p>
      )}
      <div className="button-row">
        <button type="button" className="button button-secondary" ref={cancelRef} onClick={onCancel} disabled={busy}>
          Cancel, keep everything
        </button>
        <button type="button" className="button device-danger" onClick={onConfirm} disabled={busy}>
          {unsent > 0 ? `Delete ${uploadsPhrase(unsent)} and clear` : 'Clear local data'}
        </button>
      </div>
    </div>
  );
}
