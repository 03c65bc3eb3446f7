import type { ReactNode } from 'react';

import { AuthProvider } from '@/lib/auth';
import { NotificationsProvider } from '@/lib/notifications/notifications-context';

export function AppProvider({ children }: { children: ReactNode }) {
  return (
    <AuthProvider>
      <NotificationsProvider>{children}</NotificationsProvider>
    </AuthProvider>
  );
}
