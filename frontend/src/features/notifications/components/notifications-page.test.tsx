import { act, render, screen, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { MemoryRouter } from 'react-router-dom';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

import { NotificationBell } from '@/features/notifications/components/notification-bell';
import { NotificationsPage } from '@/features/notifications/components/notifications-page';
import type { AppNotification } from '@/features/notifications/types/notifications';
import { clearSession, setSession } from '@/lib/api-client';
import { AuthProvider } from '@/lib/auth';
import type { EventStreamOptions } from '@/lib/notifications/event-stream';
import { NotificationsProvider } from '@/lib/notifications/notifications-context';
import { fakeApi, ME, tokenPair, type FakeRequest } from '@/testing/fake-api';

function note(id: number, overrides: Partial<AppNotification> = {}): AppNotification {
  return {
    id,
    type: 'report_ready',
    title: `Report ready ${id}`,
    body: 'The report for your CT study is ready.',
    upload_id: 'u1',
    report_id: `r${id}`,
    read: false,
    read_at: null,
    created_at: '2026-11-28T09:00:00Z',
    ...overrides,
  };
}

describe('NotificationsPage', () => {
  let restore = () => {};
  let items: AppNotification[];
  let requests: FakeRequest[];
  let streams: EventStreamOptions[];
  const createStream = (options: EventStreamOptions) => {
    streams.push(options);
    return { start: () => {}, stop: () => {} };
  };

  beforeEach(async () => {
    streams = [];
    items = [note(2), note(1, { type: 'upload_failed', title: 'Upload failed', report_id: null, read: true })];
    await setSession(tokenPair(1));
    const api = fakeApi((request) => {
      if (request.url === '/api/auth/refresh') return { status: 200, body: tokenPair(2) };
      if (request.url === '/api/auth/me') return { status: 200, body: ME };
      const unread = items.filter((item) => !item.read).length;
      if (request.url === '/api/notifications')
        return { status: 200, body: { items, total: items.length, unread_count: unread, page: 1, page_size: 20 } };
      if (request.url === '/api/notifications/read-all') {
        items = items.map((item) => ({ ...item, read: true }));
        return { status: 200, body: { updated: unread, unread_count: 0 } };
      }
      const match = /^\/api\/notifications\/(\d+)\/(read|unread)$/.exec(request.url);
      if (match) {
        items = items.map((item) => (item.id === Number(match[1]) ? { ...item, read: match[2] === 'read' } : item));
        return { status: 200, body: items.find((item) => item.id === Number(match[1])) };
      }
      if (request.url === '/api/notifications/push-config') return { status: 200, body: { enabled: false, public_key: null } };
      return { status: 404, body: {} };
    });
    requests = api.requests;
    restore = api.restore;
  });

  afterEach(async () => {
    restore();
    vi.restoreAllMocks();
    await clearSession();
  });

  function renderPage() {
    return render(
      <AuthProvider>
        <NotificationsProvider createStream={createStream}>
          <MemoryRouter>
            <NotificationBell />
            <NotificationsPage />
          </MemoryRouter>
        </NotificationsProvider>
      </AuthProvider>,
    );
  }

  it('lists notifications with links to their report or upload; read/unread and mark all keep the bell right', async () => {
    renderPage();
    const list = await screen.findByRole('list', { name: 'Notifications' });
    const rows = within(list).getAllByRole('listitem');
    expect(within(rows[0]!).getByRole('link', { name: 'Report ready 2' })).toHaveAttribute('href', '/reports/r2');
    expect(within(rows[1]!).getByRole('link', { name: 'Upload failed' })).toHaveAttribute('href', '/history/u1');
    expect(await screen.findByRole('link', { name: 'Notifications, 1 unread' })).toBeInTheDocument();

    await userEvent.click(within(rows[1]!).getByRole('button', { name: 'Mark as unread: Upload failed' }));
    expect(await screen.findByRole('link', { name: 'Notifications, 2 unread' })).toBeInTheDocument();
    expect(requests.some((request) => request.method === 'POST' && request.url === '/api/notifications/1/unread')).toBe(true);

    await userEvent.click(screen.getByRole('button', { name: 'Mark all as read' }));
    expect(await screen.findByRole('link', { name: 'Notifications' })).toBeInTheDocument();
    expect(await screen.findByText('0 unread of 2')).toBeInTheDocument();
  });

  it('shows a notification that arrives live, without a reload', async () => {
    renderPage();
    await screen.findByRole('list', { name: 'Notifications' });
    await vi.waitFor(() => expect(streams).toHaveLength(1));
    items = [note(3, { type: 'additional_data_required', title: 'Radiology needs more information' }), ...items];
    act(() => {
      streams[0]!.onEvent({ type: 'notification', id: '30', data: items[0] });
    });
    expect(await screen.findByRole('link', { name: 'Radiology needs more information' })).toHaveAttribute(
      'href',
      '/reports/r3',
    );
    expect(screen.getByRole('status')).toHaveTextContent('New notification: Radiology needs more information');
  });
});
