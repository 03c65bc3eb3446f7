import { act, render, screen } from '@testing-library/react';
import { MemoryRouter } from 'react-router-dom';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

import { NotificationBell } from '@/features/notifications/components/notification-bell';
import { clearSession, setSession } from '@/lib/api-client';
import { AuthProvider, useAuth } from '@/lib/auth';
import type { EventStreamOptions } from '@/lib/notifications/event-stream';
import { NotificationsProvider } from '@/lib/notifications/notifications-context';
import { fakeApi, ME, tokenPair } from '@/testing/fake-api';

function SignOut() {
  const { signOut } = useAuth();
  return (
    <button type="button" onClick={() => void signOut()}>
      Sign out
    </button>
  );
}

describe('NotificationBell', () => {
  let restore = () => {};
  let unread = 2;
  // When set, count requests are answered only once it resolves (with the count as it was).
  let hold: Promise<void> | null = null;
  let streams: { options: EventStreamOptions; start: ReturnType<typeof vi.fn>; stop: ReturnType<typeof vi.fn> }[];
  const createStream = (options: EventStreamOptions) => {
    const stream = { options, start: vi.fn(), stop: vi.fn() };
    streams.push(stream);
    return stream;
  };

  beforeEach(async () => {
    unread = 2;
    hold = null;
    streams = [];
    await setSession(tokenPair(1));
    restore = fakeApi((request) => {
      if (request.url === '/api/auth/refresh') return { status: 200, body: tokenPair(2) };
      if (request.url === '/api/auth/me') return { status: 200, body: ME };
      if (request.url === '/api/auth/logout') return { status: 204 };
      if (request.url === '/api/notifications') {
        const answer = { status: 200, body: { items: [], total: unread, unread_count: unread, page: 1, page_size: 1 } };
        return hold ? hold.then(() => answer) : answer;
      }
      return { status: 404, body: {} };
    }).restore;
  });

  afterEach(async () => {
    restore();
    await clearSession();
  });

  function renderBell() {
    return render(
      <AuthProvider>
        <NotificationsProvider createStream={createStream}>
          <MemoryRouter>
            <NotificationBell />
            <SignOut />
          </MemoryRouter>
        </NotificationsProvider>
      </AuthProvider>,
    );
  }

  it('shows the unread count, bumps it on a live notification and announces it', async () => {
    renderBell();
    const link = await screen.findByRole('link', { name: 'Notifications, 2 unread' });
    expect(link).toHaveAttribute('href', '/notifications');
    expect(streams).toHaveLength(1);
    expect(streams[0]!.start).toHaveBeenCalledTimes(1);

    act(() => {
      streams[0]!.options.onEvent({
        type: 'notification',
        id: '12',
        data: { id: 9, type: 'report_ready', title: 'Report ready', body: 'CT of 2026-01-15', read: false },
      });
    });
    expect(screen.getByRole('link', { name: 'Notifications, 3 unread' })).toBeInTheDocument();
    expect(screen.getByRole('status')).toHaveTextContent('New notification: Report ready. CT of 2026-01-15');

    // A report_updated event is not a notification: the count stays.
    act(() => {
      streams[0]!.options.onEvent({ type: 'report_updated', id: '13', data: { report_id: 'r', status: 'READY' } });
    });
    expect(screen.getByRole('link', { name: 'Notifications, 3 unread' })).toBeInTheDocument();
  });

  it('re-reads the count from the server when the stream (re)opens', async () => {
    renderBell();
    await screen.findByRole('link', { name: 'Notifications, 2 unread' });
    unread = 5;
    act(() => streams[0]!.options.onStateChange?.('open'));
    expect(await screen.findByRole('link', { name: 'Notifications, 5 unread' })).toBeInTheDocument();
  });

  it('keeps a live notification when a count read before it answers after it', async () => {
    renderBell();
    await screen.findByRole('link', { name: 'Notifications, 2 unread' });
    let release = () => {};
    hold = new Promise<void>((resolve) => {
      release = resolve;
    });
    act(() => streams[0]!.options.onStateChange?.('open')); // asks the server: 2, held back
    act(() => {
      streams[0]!.options.onEvent({
        type: 'notification',
        id: '13',
        data: { id: 10, type: 'report_ready', title: 'Report ready', body: 'CT', read: false },
      });
    });
    expect(screen.getByRole('link', { name: 'Notifications, 3 unread' })).toBeInTheDocument();
    hold = null;
    await act(async () => {
      release();
      await new Promise((resolve) => setTimeout(resolve, 20));
    });
    // The stale answer (2) does not undo the notification that arrived after it was asked.
    expect(screen.getByRole('link', { name: 'Notifications, 3 unread' })).toBeInTheDocument();
  });

  it('stops the stream on sign-out', async () => {
    renderBell();
    await screen.findByRole('link', { name: 'Notifications, 2 unread' });
    await act(async () => {
      screen.getByRole('button', { name: 'Sign out' }).click();
    });
    await vi.waitFor(() => expect(streams[0]!.stop).toHaveBeenCalledTimes(1));
    expect(streams).toHaveLength(1);
  });
});
