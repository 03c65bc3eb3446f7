import { beforeEach, describe, expect, it, vi } from 'vitest';

import { badgeForClick, badgeForPush, lastUnreadCount, setBadge, showUnreadCount } from '@/lib/app-badge';
import { db } from '@/lib/db';

function target() {
  return { setAppBadge: vi.fn(async () => undefined), clearAppBadge: vi.fn(async () => undefined) };
}

beforeEach(async () => {
  await db.settings.clear();
});

describe('app badge', () => {
  it('shows the count, and clears the badge at 0', async () => {
    const nav = target();
    expect(await setBadge(3, nav)).toBe(true);
    expect(nav.setAppBadge).toHaveBeenLastCalledWith(3);
    expect(await setBadge(0, nav)).toBe(true);
    expect(nav.clearAppBadge).toHaveBeenCalledTimes(1);
    expect(nav.setAppBadge).toHaveBeenCalledTimes(1);
  });

  it('does nothing where the Badging API is missing', async () => {
    expect(await setBadge(2, {})).toBe(false);
    expect(await setBadge(2, undefined)).toBe(false);
  });

  it('a refused badge is not an error', async () => {
    const nav = { setAppBadge: vi.fn(async () => Promise.reject(new DOMException('no', 'NotAllowedError'))) };
    expect(await setBadge(1, nav)).toBe(false);
  });

  it('a push shows the unread count it carries; one without a count changes nothing', async () => {
    const nav = target();
    expect(await badgeForPush(4, nav)).toBe(true);
    expect(nav.setAppBadge).toHaveBeenLastCalledWith(4);
    expect(await lastUnreadCount()).toBe(4);
    expect(await badgeForPush(undefined, nav)).toBe(false);
    expect(await badgeForPush('7', nav)).toBe(false);
    expect(nav.setAppBadge).toHaveBeenCalledTimes(1);
  });

  it('a click takes one off the last count, never below 0', async () => {
    const nav = target();
    await showUnreadCount(2, nav);
    expect(await badgeForClick(nav)).toBe(1);
    expect(nav.setAppBadge).toHaveBeenLastCalledWith(1);
    expect(await badgeForClick(nav)).toBe(0);
    expect(await badgeForClick(nav)).toBe(0);
    expect(nav.clearAppBadge).toHaveBeenCalledTimes(2);
  });
});
