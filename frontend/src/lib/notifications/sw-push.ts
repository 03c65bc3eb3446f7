/**
 * Web Push in the service worker (src/sw.ts): what a push message shows and where a click on it
 * leads. Pure functions over the Clients API, so they are unit-tested without a worker.
 * Messages come from backend/relaypacs/notifications/push.py.
 */

export interface PushMessage {
  type?: string;
  title?: string;
  body?: string;
  url?: string;
  report_id?: string | null;
  upload_id?: string | null;
  /** The user's unread notifications when the server sent it (the app badge). */
  unread?: number;
}

/** Only same-origin app paths are opened from a push message. */
export function safeAppPath(url: unknown): string {
  if (typeof url !== 'string' || !url.startsWith('/') || url.startsWith('//') || url.startsWith('/\\')) return '/';
  return url;
}

export function parsePushData(data: { json(): unknown; text(): string } | null | undefined): PushMessage {
  if (!data) return {};
  try {
    const value = data.json();
    return value && typeof value === 'object' ? (value as PushMessage) : {};
  } catch {
    return { body: data.text() };
  }
}

/** Title and options for `registration.showNotification`. */
export function notificationFor(message: PushMessage): { title: string; options: NotificationOptions } {
  // One notification per report (or upload): a newer status replaces the older one.
  const tag = message.report_id
    ? `report-${message.report_id}`
    : message.upload_id
      ? `upload-${message.upload_id}`
      : 'relaypacs';
  return {
    title: message.title || 'RelayPACS',
    options: {
      body: message.body ?? '',
      icon: '/icons/icon-192.png',
      badge: '/icons/icon-192.png',
      tag,
      data: { url: safeAppPath(message.url) },
    },
  };
}

interface WindowLike {
  url: string;
  focus(): Promise<WindowLike>;
  navigate(url: string): Promise<WindowLike | null>;
}

interface ClientsLike {
  matchAll(options: { type: 'window'; includeUncontrolled: boolean }): Promise<readonly WindowLike[]>;
  openWindow(url: string): Promise<unknown>;
}

/** Focus an open window of the app and take it to `path`, or open a new one. */
export async function openFromNotification(clients: ClientsLike, origin: string, path: unknown): Promise<void> {
  const target = new URL(safeAppPath(path), origin).href;
  const windows = await clients.matchAll({ type: 'window', includeUncontrolled: true });
  const own = windows.find((client) => new URL(client.url).origin === origin);
  if (!own) {
    await clients.openWindow(target);
    return;
  }
  const focused = await own.focus();
  if (focused.url === target) return;
  try {
    await focused.navigate(target);
  } catch {
    // Not controlled by this worker (navigate() refuses): open a window instead.
    await clients.openWindow(target);
  }
}
