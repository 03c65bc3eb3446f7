import { Outlet } from 'react-router-dom';

import { AppLayout } from '@/components/layout/app-layout';
import { NotificationBell } from '@/features/notifications/components/notification-bell';

/** The shell around every page: header, navigation (with the notification bell) and the page. */
export function RootRoute() {
  return (
    <AppLayout navExtra={<NotificationBell />}>
      <Outlet />
    </AppLayout>
  );
}
