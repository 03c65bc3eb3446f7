/**
 * The signed-in user's preferences (GET/PATCH /api/me/preferences), kept in IndexedDB
 * (`settings` table, src/lib/db.ts) so the app opens with them offline.
 *
 * Offline policy: a change made while offline (or while the server cannot be reached) is
 * **queued**: it applies on this device at once (the upload screen uses it) and is sent when the
 * network returns (`flushPending`, on `online` and on every start). If the server then refuses
 * it (4xx), the change is dropped, the server's values are restored and the refusal is kept
 * for the settings screen to show. Several offline changes merge into one; the last one wins.
 */
import { apiClient, errorMessage, errorStatus } from '@/lib/api-client';
import { db } from '@/lib/db';
import type { Schemas } from '@/types/api';

export type Preferences = Schemas['Preferences'];
export type PreferencesChange = Schemas['PreferencesUpdate'];
export type NotificationChannels = Schemas['NotificationPreference'];

export interface StoredPreferences {
  /** As last answered by the server; null before the first answer on this device. */
  server: Preferences | null;
  /** Changes made offline that the server has not accepted yet. */
  pending: PreferencesChange | null;
  /** Why the server refused the last queued change (shown once on the settings screen). */
  refused: string | null;
}

export type SaveOutcome = { kind: 'saved' } | { kind: 'queued' } | { kind: 'refused'; message: string };

const EMPTY: StoredPreferences = { server: null, pending: null, refused: null };
const listeners = new Set<() => void>();
let chain: Promise<unknown> = Promise.resolve();

/** One operation at a time, so a flush never races a change. */
function serial<T>(work: () => Promise<T>): Promise<T> {
  const next = chain.then(work, work);
  chain = next.catch(() => undefined);
  return next;
}

export function storageKey(userId: string): string {
  return `preferences:${userId}`;
}

export function subscribePreferences(listener: () => void): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

export async function readStored(userId: string): Promise<StoredPreferences> {
  const row = await db.settings.get(storageKey(userId));
  return { ...EMPTY, ...((row?.value as Partial<StoredPreferences> | undefined) ?? {}) };
}

async function write(userId: string, value: StoredPreferences): Promise<void> {
  await db.settings.put({ key: storageKey(userId), value, updatedAt: Date.now() });
  listeners.forEach((listener) => listener());
}

/** Two changes as one (per notification type, the later wins). */
export function mergeChanges(a: PreferencesChange | null, b: PreferencesChange): PreferencesChange {
  const notifications =
    a?.notifications || b.notifications ? { ...(a?.notifications ?? {}), ...(b.notifications ?? {}) } : undefined;
  return { ...(a ?? {}), ...b, ...(notifications ? { notifications } : {}) };
}

/** What applies on this device: the server's values with the queued changes on top. */
export function effective(stored: StoredPreferences): Preferences | null {
  if (!stored.server) return null;
  const { pending, server } = stored;
  if (!pending) return server;
  return {
    ...server,
    default_service_level: pending.default_service_level ?? server.default_service_level,
    chunk_size: pending.chunk_size ?? server.chunk_size,
    duplicate_check: pending.duplicate_check ?? server.duplicate_check,
    notifications: { ...(server.notifications ?? {}), ...(pending.notifications ?? {}) },
  };
}

function unreachable(error: unknown): boolean {
  const status = errorStatus(error);
  // No answer, server trouble or signed out for now: the change waits, it is not refused.
  return status === null || status >= 500 || status === 401 || status === 408 || status === 429;
}

function isOnline(): boolean {
  return typeof navigator === 'undefined' || navigator.onLine !== false;
}

async function patch(change: PreferencesChange): Promise<Preferences> {
  const { data } = await apiClient.patch<Preferences>('/api/me/preferences', change);
  return data;
}

/** Sends the queued change, if any; resolves with what is stored afterwards. */
export function flushPending(userId: string): Promise<StoredPreferences> {
  return serial(async () => {
    const stored = await readStored(userId);
    if (!stored.pending || !isOnline()) return stored;
    try {
      const server = await patch(stored.pending);
      const next = { server, pending: null, refused: null };
      await write(userId, next);
      return next;
    } catch (error) {
      if (unreachable(error)) return stored;
      const next = {
        ...stored,
        pending: null,
        refused: `Your change made offline was refused by the server: ${errorMessage(error)}`,
      };
      await write(userId, next);
      return next;
    }
  });
}

/** Sends what is queued, then reads the server's values (offline: what is stored). */
export async function refreshPreferences(userId: string): Promise<StoredPreferences> {
  const flushed = await flushPending(userId);
  if (!isOnline() || flushed.pending) return flushed;
  return serial(async () => {
    try {
      const { data } = await apiClient.get<Preferences>('/api/me/preferences');
      const current = await readStored(userId);
      // A change queued meanwhile stays queued on top of the fresh values.
      const next = { ...current, server: data };
      await write(userId, next);
      return next;
    } catch {
      return readStored(userId);
    }
  });
}

/** Applies a change: sent now when online (with any earlier queued one), else queued. */
export function changePreferences(userId: string, change: PreferencesChange): Promise<SaveOutcome> {
  return serial(async (): Promise<SaveOutcome> => {
    const stored = await readStored(userId);
    const merged = mergeChanges(stored.pending, change);
    if (isOnline()) {
      try {
        const server = await patch(merged);
        await write(userId, { server, pending: null, refused: null });
        return { kind: 'saved' };
      } catch (error) {
        // Refused: nothing changes here (an earlier queued change stays queued).
        if (!unreachable(error)) return { kind: 'refused', message: errorMessage(error) };
      }
    }
    await write(userId, { ...stored, pending: merged, refused: null });
    return { kind: 'queued' };
  });
}

/** Forget the refusal once shown. */
export async function dismissRefusal(userId: string): Promise<void> {
  await serial(async () => {
    const stored = await readStored(userId);
    if (stored.refused) await write(userId, { ...stored, refused: null });
  });
}
