import { PushToggle } from '@/features/notifications/components/push-toggle';
import { NotificationPreferencesPage } from '@/features/preferences/components/notification-preferences-page';

/** The preferences feature's per-type channels with the notifications feature's push toggle. */
export function SettingsNotificationsRoute() {
  return <NotificationPreferencesPage pushControl={<PushToggle />} />;
}
