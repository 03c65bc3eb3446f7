import { useCallback, useEffect, useRef, useState } from 'react';

import { ClearDataDialog } from '@/features/device/components/clear-data-dialog';
import { formatStorage, uploadsPhrase } from '@/features/device/utils/format';
import { APP_VERSION, BUILD_ID } from '@/lib/build-info';
import {
  clearLocalData,
  persistState,
  queueUsage,
  requestPersistence,
  storageEstimate,
  UnconfirmedLoss,
  type PersistState,
  type QueueUsage,
  type StorageFigures,
} from '@/lib/device/local-data';
import { subscribeQueueEvents } from '@/lib/upload/queue-events';

import './device-page.css';

export interface DevicePageProps {
  /** Stops the upload sender's work on these queue entries before they are deleted. */
  stopUploads?: (ids: string[]) => Promise<void>;
}

const PERSIST_TEXT: Record<PersistState, string> = {
  unsupported: 'This browser cannot be asked to keep the data.',
  persisted: 'On: the browser will not delete queued studies to free space.',
  'not-persisted': 'Off: when space runs low the browser may delete this site’s data, queued studies included.',
};

/** Settings → This device (F7.6): version, storage, persistent storage, clear local data. */
export function DevicePage({ stopUploads }: DevicePageProps) {
  const [figures, setFigures] = useState<StorageFigures | null>(null);
  const [queue, setQueue] = useState<QueueUsage | null>(null);
  const [persist, setPersist] = useState<PersistState | null>(null);
  const [persistNote, setPersistNote] = useState<string | null>(null);
  const [confirming, setConfirming] = useState<number | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [done, setDone] = useState<string | null>(null);
  const clearButton = useRef<HTMLButtonElement>(null);
  const returnFocus = useRef(false);

  // The dialog replaced the button: once it closes, focus goes back to the button.
  useEffect(() => {
    if (confirming === null && returnFocus.current) {
      returnFocus.current = false;
      clearButton.current?.focus();
    }
  }, [confirming]);

  const reload = useCallback(async () => {
    const [nextFigures, nextQueue, nextPersist] = await Promise.all([
      storageEstimate().catch(() => ({ usage: null, quota: null })),
      queueUsage(),
      persistState().catch(() => 'unsupported' as const),
    ]);
    setFigures(nextFigures);
    setQueue(nextQueue);
    setPersist(nextPersist);
  }, []);

  useEffect(() => {
    void reload();
    return subscribeQueueEvents(() => void reload());
  }, [reload]);

  async function askPersistence() {
    const state = await requestPersistence().catch(() => 'unsupported' as const);
    setPersist(state);
    setPersistNote(
      state === 'persisted'
        ? 'Granted.'
        : state === 'not-persisted'
          ? 'The browser declined. Installing the app or using it more often usually lets it agree.'
          : null,
    );
  }

  async function openConfirmation() {
    setDone(null);
    setError(null);
    const usage = await queueUsage();
    setQueue(usage);
    setConfirming(usage.unsent);
  }

  function cancel() {
    returnFocus.current = true;
    setConfirming(null);
    setError(null);
  }

  async function confirm() {
    if (confirming === null) return;
    setBusy(true);
    setError(null);
    try {
      await clearLocalData({ confirmedUnsent: confirming, stopUploads });
      returnFocus.current = true;
      setConfirming(null);
      setDone('Local data cleared.');
      await reload();
    } catch (caught) {
      if (caught instanceof UnconfirmedLoss) {
        setConfirming(caught.unsent);
        setError(`Another upload was queued meanwhile: now ${uploadsPhrase(caught.unsent)} would be lost. Nothing was deleted.`);
      } else {
        setError(`Nothing was deleted: ${caught instanceof Error ? caught.message : String(caught)}`);
      }
    } finally {
      setBusy(false);
    }
  }

  return (
    <div className="device-page">
      <div className="page-header">
        <h2>This device</h2>
      </div>

      <section className="card" aria-labelledby="device-app-title">
        <h2 id="device-app-title">App</h2>
        <dl className="facts">
          <dt>Version</dt>
          <dd data-testid="app-version">{APP_VERSION}</dd>
          <dt>Build</dt>
          <dd className="mono" data-testid="build-id">
            {BUILD_ID}
          </dd>
        </dl>
      </section>

      <section className="card" aria-labelledby="device-storage-title">
        <h2 id="device-storage-title">Storage</h2>
        <dl className="facts" data-testid="storage-figures">
          <dt>Used by this app</dt>
          <dd data-testid="storage-used">{figures ? formatStorage(figures.usage) : '…'}</dd>
          <dt>Available to it</dt>
          <dd data-testid="storage-available">
            {figures
              ? figures.quota !== null && figures.usage !== null
                ? formatStorage(Math.max(0, figures.quota - figures.usage))
                : 'unknown'
              : '…'}
          </dd>
          <dt>Queued studies’ files</dt>
          <dd data-testid="storage-queue">
            {queue ? `${formatStorage(queue.bytes)} (${uploadsPhrase(queue.unsent)} not sent yet)` : '…'}
          </dd>
        </dl>
        <h3>Keep data on this device</h3>
        <p className="field-hint" data-testid="persist-state" role="status">
          {persist ? PERSIST_TEXT[persist] : '…'} {persistNote}
        </p>
        {persist === 'not-persisted' && (
          <button type="button" className="button button-secondary" onClick={() => void askPersistence()}>
            Ask the browser to keep it
          </button>
        )}
      </section>

      <section className="card" aria-labelledby="device-clear-title">
        <h2 id="device-clear-title">Clear local data</h2>
        <p className="field-hint">
          Removes the upload queue and its files, cached reports and lists, and this device’s settings. Use it
          before handing the device to someone else, then sign out.
        </p>
        {confirming === null ? (
          <button
            type="button"
            className="button device-danger"
            ref={clearButton}
            onClick={() => void openConfirmation()}
          >
            Clear local data…
          </button>
        ) : (
          <ClearDataDialog
            unsent={confirming}
            busy={busy}
            error={error}
            onConfirm={() => void confirm()}
            onCancel={cancel}
          />
        )}
        {done && (
          <p className="alert alert-success" role="status">
            {done}
          </p>
        )}
      </section>
    </div>
  );
}
