import { useId, useState } from 'react';

import { OfflineNotice, SaveStatus } from '@/features/preferences/components/save-status';
import { chunkSizeOptions, formatChunkSize } from '@/features/preferences/utils/chunk-sizes';
import type { PreferencesChange, SaveOutcome } from '@/lib/preferences/preferences-store';
import { usePreferences } from '@/lib/preferences/use-preferences';
import { SERVICE_LEVELS } from '@/lib/upload/types';

import './settings.css';

const LEVEL_HINTS: Record<string, string> = {
  STAT: 'read first, within the hour',
  EMERGENCY: 'read the same day',
  ROUTINE: 'read in the normal queue',
};

function title(level: string): string {
  return level.charAt(0) + level.slice(1).toLowerCase();
}

/** Settings → Upload preferences: what the upload screen starts with. Each change saves at once. */
export function UploadPreferencesPage() {
  const id = useId();
  const { preferences, pending, refused, loaded, save, dismissRefused } = usePreferences();
  const [outcome, setOutcome] = useState<SaveOutcome | null>(null);
  // Read from the server with the preferences; until then only the current size is offered.
  const current = preferences?.chunk_size ?? 0;
  const limits = preferences?.chunk_size_limits ?? { min: current, max: current, default: current };

  async function change(update: PreferencesChange) {
    setOutcome(null);
    setOutcome(await save(update));
  }

  return (
    <div className="settings-page">
      <div className="page-header">
        <h2>Upload preferences</h2>
      </div>
      <OfflineNotice pending={pending} refused={refused} onDismiss={dismissRefused} />
      {!preferences ? (
        <p className="page-status" role="status">
          {loaded ? 'Your preferences have not been loaded on this device yet. Connect once to load them.' : 'Loading…'}
        </p>
      ) : (
        <form className="card settings-form" onSubmit={(event) => event.preventDefault()}>
          <fieldset className="field">
            <legend>Default service level</legend>
            <p className="field-hint" id={`${id}-level-hint`}>
              Chosen for every new study on the upload screen; you can still change it per study.
            </p>
            <div className="settings-options" aria-describedby={`${id}-level-hint`}>
              {SERVICE_LEVELS.map((level) => (
                <label key={level} className="checkbox">
                  <input
                    type="radio"
                    name="default_service_level"
                    value={level}
                    checked={preferences.default_service_level === level}
                    onChange={() => void change({ default_service_level: level })}
                  />
                  {title(level)}
                  {LEVEL_HINTS[level] && <span className="field-hint"> — {LEVEL_HINTS[level]}</span>}
                </label>
              ))}
            </div>
          </fieldset>

          <div className="field">
            <label className="checkbox">
              <input
                type="checkbox"
                checked={preferences.duplicate_check}
                aria-describedby={`${id}-dup-hint`}
                onChange={(event) => void change({ duplicate_check: event.target.checked })}
              />
              Warn me before sending a possible duplicate
            </label>
            <p className="field-hint" id={`${id}-dup-hint`}>
              A study with the same patient name, study date and modality as one sent in the last 30 days is held
              until you choose “Send anyway”. The server applies this setting.
            </p>
          </div>

          <details className="settings-advanced">
            <summary>Advanced: chunk size</summary>
            <div className="field">
              <label htmlFor={`${id}-chunk`}>Chunk size</label>
              <select
                id={`${id}-chunk`}
                value={preferences.chunk_size}
                aria-describedby={`${id}-chunk-hint`}
                onChange={(event) => void change({ chunk_size: Number(event.target.value) })}
              >
                {chunkSizeOptions(limits, preferences.chunk_size).map((size) => (
                  <option key={size} value={size}>
                    {formatChunkSize(size)}
                    {size === limits.default ? ' (default)' : ''}
                  </option>
                ))}
              </select>
              <p className="field-hint" id={`${id}-chunk-hint`}>
                Studies are sent in pieces of this size, each checked and retried on its own. On a weak or patchy
                connection smaller pieces lose less when the network drops; on a fast, steady one bigger pieces
                finish sooner. The server accepts {formatChunkSize(limits.min)} to{' '}
                {formatChunkSize(limits.max)}. Applies to studies queued from now on.
              </p>
            </div>
          </details>
          <SaveStatus outcome={outcome} />
        </form>
      )}
    </div>
  );
}
