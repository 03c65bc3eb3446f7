import { useEffect, useState } from 'react';
import { NavLink } from 'react-router-dom';

import { paths } from '@/config/paths';
import { useNotifications } from '@/lib/notifications/notifications-context';

/** The nav link to the notifications page with the unread count, and a polite live region. */
export function NotificationBell() {
  const { unreadCount, latest, streamState } = useNotifications();
  const [announcement, setAnnouncement] = useState('');

  useEffect(() => {
    if (!latest) return;
    setAnnouncement(`New notification: ${latest.title}. ${latest.body}`);
    // Cleared after a while, so an old announcement does not linger in the page.
    const timer = setTimeout(() => setAnnouncement(''), 15_000);
    return () => clearTimeout(timer);
  }, [latest]);

  const count = unreadCount ?? 0;
  return (
    <>
      <NavLink
        to={paths.notifications}
        className="notification-bell"
        data-unread={count}
        data-stream={streamState}
        aria-label={count > 0 ? `Notifications, ${count} unread` : 'Notifications'}
      >
        <svg aria-hidden="true" width="20" height="20" viewBox="0 0 24 24" fill="none" stroke="currentColor" strokeWidth="2">
          <path d="M18 8a6 6 0 0 0-12 0c0 7-3 9-3 9h18s-3-2-3-9" />
          <path d="M13.73 21a2 2 0 0 1-3.46 0" />
        </svg>
        <span className="bell-label">Notifications</span>
        {count > 0 && (
          <span className="bell-count" aria-hidden="true">
            {count > 99 ? '99+' : count}
          </span>
        )}
      </NavLink>
      <div className="visually-hidden" role="status" aria-live="polite" aria-atomic="true">
        {announcement}
      </div>
    </>
  );
}
