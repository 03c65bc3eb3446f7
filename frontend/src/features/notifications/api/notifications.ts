import type {
  AppNotification,
  NotificationPage,
  PushConfig,
  ReadAllResult,
} from '@/features/notifications/types/notifications';
import { apiClient } from '@/lib/api-client';

export async function getNotifications(
  params: { page?: number; pageSize?: number; unreadOnly?: boolean } = {},
): Promise<NotificationPage> {
  const { data } = await apiClient.get<NotificationPage>('/api/notifications', {
    params: {
      page: params.page ?? 1,
      page_size: params.pageSize ?? 20,
      ...(params.unreadOnly ? { unread_only: true } : {}),
    },
  });
  return data;
}

export async function setNotificationRead(id: number, read: boolean): Promise<AppNotification> {
  const { data } = await apiClient.post<AppNotification>(`/api/notifications/${id}/${read ? 'read' : 'unread'}`);
  return data;
}

export async function markAllNotificationsRead(): Promise<ReadAllResult> {
  const { data } = await apiClient.post<ReadAllResult>('/api/notifications/read-all');
  return data;
}

export async function getPushConfig(): Promise<PushConfig> {
  const { data } = await apiClient.get<PushConfig>('/api/notifications/push-config');
  return data;
}

export async function savePushSubscription(subscription: PushSubscriptionJSON): Promise<void> {
  await apiClient.post('/api/notifications/push-subscriptions', subscription);
}

export async function deletePushSubscription(endpoint: string): Promise<void> {
  await apiClient.delete('/api/notifications/push-subscriptions', { data: { endpoint } });
}

/** Where a notification leads: its report, else its upload. */
export function notificationHref(item: Pick<AppNotification, 'report_id' | 'upload_id'>): string | null {
  if (item.report_id) return `/reports/${item.report_id}`;
  if (item.upload_id) return `/history/${item.upload_id}`;
  return null;
}
