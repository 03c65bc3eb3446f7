import { useCallback, useEffect, useRef, useState } from 'react';

import { useAuth } from '@/lib/auth';
import {
  changePreferences,
  dismissRefusal,
  effective,
  mergeChanges,
  readStored,
  refreshPreferences,
  subscribePreferences,
  type Preferences,
  type PreferencesChange,
  type SaveOutcome,
  type StoredPreferences,
} from '@/lib/preferences/preferences-store';

export interface PreferencesState {
  /** What applies on this device (null until known: never loaded here and offline). */
  preferences: Preferences | null;
  /** Changes made offline that wait for the network. */
  pending: boolean;
  /** The server refused a queued change (message), until dismissed. */
  refused: string | null;
  loaded: boolean;
  save: (change: PreferencesChange) => Promise<SaveOutcome>;
  dismissRefused: () => void;
}

/** The signed-in user's preferences, from IndexedDB first, then the server. */
export function usePreferences(): PreferencesState {
  const { user } = useAuth();
  const userId = user?.id ?? null;
  const [stored, setStored] = useState<StoredPreferences | null>(null);
  // Shown at once while a change is being saved (a control never lags behind the click).
  const [optimistic, setOptimistic] = useState<PreferencesChange | null>(null);
  const inFlight = useRef(0);

  useEffect(() => {
    if (!userId) return;
    let cancelled = false;
    const reload = () =>
      void readStored(userId).then((value) => {
        if (!cancelled) setStored(value);
      });
    const unsubscribe = subscribePreferences(reload);
    reload();
    void refreshPreferences(userId).catch(() => undefined);
    const onOnline = () => void refreshPreferences(userId).catch(() => undefined);
    window.addEventListener('online', onOnline);
    return () => {
      cancelled = true;
      unsubscribe();
      window.removeEventListener('online', onOnline);
    };
  }, [userId]);

  const save = useCallback(
    async (change: PreferencesChange): Promise<SaveOutcome> => {
      if (!userId) return { kind: 'refused', message: 'Not signed in.' };
      inFlight.current += 1;
      setOptimistic((current) => mergeChanges(current, change));
      try {
        return await changePreferences(userId, change);
      } finally {
        inFlight.current -= 1;
        if (inFlight.current === 0) setOptimistic(null);
      }
    },
    [userId],
  );
  const dismissRefused = useCallback(() => {
    if (userId) void dismissRefusal(userId);
  }, [userId]);

  return {
    preferences: stored
      ? effective(optimistic ? { ...stored, pending: mergeChanges(stored.pending, optimistic) } : stored)
      : null,
    pending: Boolean(stored?.pending),
    refused: stored?.refused ?? null,
    loaded: stored !== null,
    save,
    dismissRefused,
  };
}

/** Sends queued preference changes whenever the network returns, on every signed-in screen. */
export function usePreferencesSync(): void {
  const { user } = useAuth();
  const userId = user?.id ?? null;
  useEffect(() => {
    if (!userId) return;
    const flush = () => void refreshPreferences(userId).catch(() => undefined);
    flush();
    window.addEventListener('online', flush);
    return () => window.removeEventListener('online', flush);
  }, [userId]);
}
