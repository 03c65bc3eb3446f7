/**
 * The unread-notification count on the installed app's icon (Badging API), set by the page
 * (lib/notifications/notifications-context.tsx) and by the service worker (src/sw.ts) when a
 * push arrives or a notification is clicked. Feature-detected: a browser without it does nothing.
 */
import { db } from '@/lib/db';

export interface BadgeTarget {
  setAppBadge?: (contents?: number) => Promise<void>;
  clearAppBadge?: () => Promise<void>;
}

/** The `settings` row holding the last count shown (the worker decrements it on a click). */
export const BADGE_KEY = 'badge';

function defaultTarget(): BadgeTarget | undefined {
  return typeof navigator === 'undefined' ? undefined : (navigator as unknown as BadgeTarget);
}

export function badgeSupported(target: BadgeTarget | undefined = defaultTarget()): boolean {
  return typeof target?.setAppBadge === 'function';
}

/** Shows `count` on the icon (cleared at 0); false when the browser has no Badging API. */
export async function setBadge(count: number, target: BadgeTarget | undefined = defaultTarget()): Promise<boolean> {
  if (!target || !badgeSupported(target)) return false;
  const value = Math.max(0, Math.floor(Number.isFinite(count) ? count : 0));
  try {
    if (value === 0) {
      if (typeof target.clearAppBadge === 'function') await target.clearAppBadge();
      else await target.setAppBadge!(0);
    } else {
      await target.setAppBadge!(value);
    }
  } catch {
    // Not allowed here (e.g. not installed on some platforms): the badge is only a hint.
    return false;
  }
  return true;
}

/** Records the count (so the worker knows it) and shows it. */
export async function showUnreadCount(count: number, target?: BadgeTarget): Promise<boolean> {
  await db.settings.put({ key: BADGE_KEY, value: count, updatedAt: Date.now() }).catch(() => undefined);
  return setBadge(count, target ?? defaultTarget());
}

/** The count last recorded by the page or the worker (0 when none). */
export async function lastUnreadCount(): Promise<number> {
  const row = await db.settings.get(BADGE_KEY).catch(() => undefined);
  return typeof row?.value === 'number' ? row.value : 0;
}

/** A push arrived: the server's unread count at send time, when the message has one. */
export async function badgeForPush(unread: unknown, target?: BadgeTarget): Promise<boolean> {
  if (typeof unread !== 'number' || !Number.isFinite(unread) || unread < 0) return false;
  return showUnreadCount(unread, target);
}

/**
 * A notification was clicked: the user is opening it, so one fewer waits. The page, once open,
 * puts the server's count back (it may still list the item as unread until it is read there).
 */
export async function badgeForClick(target?: BadgeTarget): Promise<number> {
  const next = Math.max(0, (await lastUnreadCount()) - 1);
  await showUnreadCount(next, target);
  return next;
}
