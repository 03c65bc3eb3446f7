/// <reference lib="webworker" />
import { clientsClaim } from 'workbox-core';
import {
  cleanupOutdatedCaches,
  createHandlerBoundToURL,
  matchPrecache,
  precacheAndRoute,
} from 'workbox-precaching';
import { NavigationRoute, registerRoute, setCatchHandler } from 'workbox-routing';

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

// --- Web Push (backend/relaypacs/notifications/push.py) ---

interface PushMessage {
  type?: string;
  title?: string;
  body?: string;
  url?: string;
  report_id?: string | null;
  upload_id?: string | null;
}

/** Only same-origin app paths are opened from a push message. */
function safeAppUrl(url: unknown): string {
  if (typeof url !== 'string' || !url.startsWith('/') || url.startsWith('//')) return '/';
  return url;
}

self.addEventListener('push', (event: PushEvent) => {
  let message: PushMessage = {};
  try {
    message = (event.data?.json() as PushMessage | undefined) ?? {};
  } catch {
    message = { body: event.data?.text() };
  }
  const url = safeAppUrl(message.url);
  // One notification per report (or upload): a newer status replaces the older one.
  const tag = message.report_id
    ? `report-${message.report_id}`
    : message.upload_id
      ? `upload-${message.upload_id}`
      : 'relaypacs';
  event.waitUntil(
    self.registration.showNotification(message.title || 'RelayPACS', {
      body: message.body ?? '',
      icon: '/icons/icon-192.png',
      badge: '/icons/icon-192.png',
      tag,
      data: { url },
    }),
  );
});

self.addEventListener('notificationclick', (event: NotificationEvent) => {
  event.notification.close();
  const url = safeAppUrl((event.notification.data as { url?: unknown } | null)?.url);
  event.waitUntil(
    (async () => {
      const windows = await self.clients.matchAll({ type: 'window', includeUncontrolled: true });
      const target = new URL(url, self.location.origin).href;
      for (const client of windows) {
        if (new URL(client.url).origin !== self.location.origin) continue;
        const focused = await client.focus();
        if (client.url !== target) {
          try {
            await focused.navigate(target);
          } catch {
            // An uncontrolled client cannot be navigated: open a window instead.
            await self.clients.openWindow(target);
          }
        }
        return;
      }
      await self.clients.openWindow(target);
    })(),
  );
});
