import Dexie, { type EntityTable } from 'dexie';

import type { BlobRecord, QueueRecord } from '@/lib/upload/queue-types';

/** A small key/value row: auth session data, cached API answers. */
export interface KeyValue<T = unknown> {
  key: string;
  value: T;
  /** Epoch milliseconds of the write. */
  updatedAt: number;
}

export const DB_NAME = 'relaypacs';

/**
 * The one IndexedDB database of the app (also opened by the service worker).
 *
 * - `queue`:  uploads waiting or being sent, primary key `id` (local UUID), indexes `createdAt`, `state`.
 * - `blobs`:  the files of a queued upload, compound primary key `[queueId+fileIndex]`, index `queueId`.
 * - `auth`:   key/value (`refresh` → persisted refresh token).
 * - `cache`:  key/value of the last good API answers, shown offline with a "viewing cached data" badge.
 * - `settings` (version 2): key/value of this device's settings: the user's preferences as last
 *   read from the server plus the changes made offline and not sent yet (`preferences:<userId>`,
 *   src/lib/preferences/preferences-store.ts), the app badge's last count (`badge`).
 */
export class RelayDatabase extends Dexie {
  queue!: EntityTable<QueueRecord, 'id'>;
  blobs!: Dexie.Table<BlobRecord, [string, number]>;
  auth!: EntityTable<KeyValue, 'key'>;
  cache!: EntityTable<KeyValue, 'key'>;
  settings!: EntityTable<KeyValue, 'key'>;

  constructor(name: string = DB_NAME) {
    super(name);
    this.version(1).stores({
      queue: 'id, createdAt, state',
      blobs: '[queueId+fileIndex], queueId',
      auth: 'key',
      cache: 'key',
    });
    // Version 2 adds a table and changes nothing else: existing rows stay as they are.
    this.version(2).stores({ settings: 'key' });
  }
}

export const db = new RelayDatabase();

export async function readCache<T>(key: string): Promise<KeyValue<T> | undefined> {
  return (await db.cache.get(key)) as KeyValue<T> | undefined;
}

export async function writeCache<T>(key: string, value: T): Promise<void> {
  await db.cache.put({ key, value, updatedAt: Date.now() });
}
