import { useCallback, useEffect, useState } from 'react';
import { Link } from 'react-router-dom';

import { OfflinePage } from '@/components/layout/offline-page';
import {
  getNotifications,
  markAllNotificationsRead,
  notificationHref,
  setNotificationRead,
} from '@/features/notifications/api/notifications';
import { PushToggle } from '@/features/notifications/components/push-toggle';
import type { AppNotification, NotificationPage } from '@/features/notifications/types/notifications';
import { errorMessage } from '@/lib/api-client';
import { useOnline } from '@/lib/network';
import { useNotifications, useStreamEvents } from '@/lib/notifications/notifications-context';

const PAGE_SIZE = 20;

export function NotificationsPage() {
  const online = useOnline();
  const { setUnreadCount } = useNotifications();
  const [page, setPage] = useState(1);
  const [data, setData] = useState<NotificationPage | null>(null);
  const [loading, setLoading] = useState(true);
  const [error, setError] = useState<string | null>(null);
  const [tick, setTick] = useState(0);
  const reload = useCallback(() => setTick((value) => value + 1), []);

  useEffect(() => {
    if (!online) {
      setLoading(false);
      return;
    }
    let cancelled = false;
    setLoading(true);
    getNotifications({ page, pageSize: PAGE_SIZE }).then(
      (fresh) => {
        if (cancelled) return;
        setData(fresh);
        setUnreadCount(fresh.unread_count);
        setError(null);
        setLoading(false);
      },
      (caught: unknown) => {
        if (cancelled) return;
        setError(errorMessage(caught));
        setLoading(false);
      },
    );
    return () => {
      cancelled = true;
    };
  }, [page, tick, online, setUnreadCount]);

  // A new notification: show it (on the first page) without a reload.
  useStreamEvents(['notification'], reload);

  async function toggleRead(item: AppNotification) {
    try {
      const updated = await setNotificationRead(item.id, !item.read);
      setData((current) =>
        current && {
          ...current,
          unread_count: current.unread_count + (updated.read ? -1 : 1),
          items: current.items.map((row) => (row.id === updated.id ? updated : row)),
        },
      );
      reload();
    } catch (caught) {
      setError(errorMessage(caught));
    }
  }

  async function readAll() {
    try {
      await markAllNotificationsRead();
      setUnreadCount(0);
      reload();
    } catch (caught) {
      setError(errorMessage(caught));
    }
  }

  async function openItem(item: AppNotification) {
    if (item.read) return;
    try {
      await setNotificationRead(item.id, true);
      setUnreadCount(Math.max(0, (data?.unread_count ?? 1) - 1));
    } catch {
      // Following the link matters more than the read mark.
    }
  }

  if (!data && !loading && !online) return <OfflinePage what="Your notifications" />;
  const items = data?.items ?? [];
  const pages = data ? Math.max(1, Math.ceil(data.total / PAGE_SIZE)) : 1;

  return (
    <section aria-labelledby="notifications-title" className="page">
      <div className="page-header">
        <h1 id="notifications-title">Notifications</h1>
        {data && data.unread_count > 0 && (
          <button type="button" className="button button-secondary" onClick={() => void readAll()}>
            Mark all as read
          </button>
        )}
      </div>
      <PushToggle />
      {error && (
        <p role="alert" className="alert alert-error">
          {error}
        </p>
      )}
      {loading && !data && <p role="status">Loading notifications…</p>}
      {data && (
        <p className="field-hint" data-testid="notifications-summary">
          {data.unread_count} unread of {data.total}
        </p>
      )}
      {data && items.length === 0 && <p>No notifications yet.</p>}
      {items.length > 0 && (
        <ul className="notification-list" aria-label="Notifications">
          {items.map((item) => {
            const href = notificationHref(item);
            return (
              <li
                key={item.id}
                className={`notification-item${item.read ? '' : ' notification-unread'}`}
                data-notification-id={item.id}
                data-type={item.type}
                data-read={item.read}
              >
                <div className="notification-main">
                  <p className="notification-title">
                    {!item.read && <span className="visually-hidden">Unread: </span>}
                    {href ? (
                      <Link to={href} onClick={() => void openItem(item)}>
                        {item.title}
                      </Link>
                    ) : (
                      item.title
                    )}
                  </p>
                  <p>{item.body}</p>
                  <p className="history-item-meta">
                    <time dateTime={item.created_at}>{new Date(item.created_at).toLocaleString()}</time>
                  </p>
                </div>
                <button type="button" className="link-button" onClick={() => void toggleRead(item)}>
                  {item.read ? 'Mark as unread' : 'Mark as read'}
                  <span className="visually-hidden">: {item.title}</span>
                </button>
              </li>
            );
          })}
        </ul>
      )}
      {pages > 1 && (
        <nav aria-label="Notification pages" className="button-row">
          <button type="button" className="button button-secondary" disabled={page <= 1} onClick={() => setPage(page - 1)}>
            Newer
          </button>
          <span>
            Page {page} of {pages}
          </span>
          <button
            type="button"
            className="button button-secondary"
            disabled={page >= pages}
            onClick={() => setPage(page + 1)}
          >
            Older
          </button>
        </nav>
      )}
    </section>
  );
}
