/// <reference lib="webworker" />
import { clientsClaim } from 'workbox-core';
import { cleanupOutdatedCaches, createHandlerBoundToURL, precacheAndRoute } from 'workbox-precaching';
import { NavigationRoute, registerRoute } from 'workbox-routing';

import { drainQueue } from '@/lib/upload/background';

declare const self: ServiceWorkerGlobalScope;

export const UPLOAD_SYNC_TAG = 'relaypacs-upload-queue';

interface SyncEvent extends ExtendableEvent {
  readonly tag: string;
  readonly lastChance: boolean;
}

self.skipWaiting();
clientsClaim();
cleanupOutdatedCaches();
precacheAndRoute(self.__WB_MANIFEST);

// Client-side routes get the precached app shell; the API and server pages never do.
registerRoute(
  new NavigationRoute(createHandlerBoundToURL('/index.html'), {
    denylist: [/^\/api\//, /^\/healthz/, /^\/readyz/, /^\/metrics/, /^\/docs/, /^\/openapi\.json/],
  }),
);

self.addEventListener('sync', (event: Event) => {
  const sync = event as SyncEvent;
  if (sync.tag === UPLOAD_SYNC_TAG) {
    sync.waitUntil(drainQueue());
  }
});
