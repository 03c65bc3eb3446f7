/// <reference lib="webworker" />
import { clientsClaim } from 'workbox-core';
import {
  cleanupOutdatedCaches,
  createHandlerBoundToURL,
  matchPrecache,
  precacheAndRoute,
} from 'workbox-precaching';
import { NavigationRoute, registerRoute, setCatchHandler } from 'workbox-routing';

import { badgeForClick, badgeForPush } from '@/lib/app-badge';
import { notificationFor, openFromNotification, parsePushData } from '@/lib/notifications/sw-push';
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

// Last resort for a navigation that fails (e.g. the shell was evicted): the static offline page.
setCatchHandler(async ({ request }) => {
  if (request.destination === 'document') {
    return (await matchPrecache('/offline.html')) ?? Response.error();
  }
  return Response.error();
});

self.addEventListener('sync', (event: Event) => {
  const sync = event as SyncEvent;
  if (sync.tag === UPLOAD_SYNC_TAG) {
    sync.waitUntil(drainQueue());
  }
});

// --- Web Push (backend/relaypacs/notifications/push.py; logic in lib/notifications/sw-push.ts) ---

// The app badge (lib/app-badge.ts): the server's unread count on a push, one fewer on a click.
self.addEventListener('push', (event: PushEvent) => {
  const message = parsePushData(event.data);
  const { title, options } = notificationFor(message);
  event.waitUntil(
    Promise.all([self.registration.showNotification(title, options), badgeForPush(message.unread)]),
  );
});

self.addEventListener('notificationclick', (event: NotificationEvent) => {
  event.notification.close();
  const path = (event.notification.data as { url?: unknown } | null)?.url;
  event.waitUntil(
    Promise.all([openFromNotification(self.clients, self.location.origin, path), badgeForClick()]),
  );
});
