import { useCallback, useEffect, useRef, useState } from 'react';

import { ReauthCancelled } from '@/features/account/hooks/use-reauth';
import { errorMessage } from '@/lib/api-client';

export type SaveState =
  | { kind: 'idle' }
  | { kind: 'saving' }
  | { kind: 'saved' }
  | { kind: 'failed'; message: string };

export interface AutoSaveField {
  value: string;
  setValue: (value: string) => void;
  /** Save the value if it changed since the last save (called on blur). */
  commit: () => Promise<void>;
  state: SaveState;
}

/**
 * One form field saved on its own when it loses focus: no save button. Offline the change is
 * refused (and said so), never queued: account details are only changed on the server.
 */
export function useAutoSaveField({
  saved,
  save,
  online,
  normalise = (value) => value.trim(),
}: {
  /** The value the server holds (the field follows it until the user edits). */
  saved: string;
  save: (value: string) => Promise<void>;
  online: boolean;
  normalise?: (value: string) => string;
}): AutoSaveField {
  const [value, setValue] = useState(saved);
  const [state, setState] = useState<SaveState>({ kind: 'idle' });
  const lastSaved = useRef(saved);
  const edited = useRef(false);
  const inflight = useRef(false);

  useEffect(() => {
    lastSaved.current = saved;
    if (!edited.current) setValue(saved);
  }, [saved]);

  const change = useCallback((next: string) => {
    edited.current = true;
    setValue(next);
  }, []);

  const commit = useCallback(async () => {
    if (inflight.current) return;
    const next = normalise(value);
    if (next === lastSaved.current) {
      edited.current = false;
      setState((current) => (current.kind === 'failed' ? { kind: 'idle' } : current));
      return;
    }
    if (!online) {
      setState({ kind: 'failed', message: 'Not saved: you are offline. Edit the field again once back online.' });
      return;
    }
    setState({ kind: 'saving' });
    inflight.current = true;
    try {
      await save(next);
      lastSaved.current = next;
      edited.current = false;
      setValue(next);
      setState({ kind: 'saved' });
    } catch (caught) {
      const reason = caught instanceof ReauthCancelled ? 'you cancelled the password check.' : errorMessage(caught);
      setState({ kind: 'failed', message: `Not saved: ${reason}` });
    } finally {
      inflight.current = false;
    }
  }, [normalise, online, save, value]);

  return { value, setValue: change, commit, state };
}
