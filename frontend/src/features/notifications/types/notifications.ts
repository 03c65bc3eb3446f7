/** Mirrors backend/relaypacs/notifications/schemas.py. */
export type NotificationType =
  | 'upload_complete'
  | 'upload_failed'
  | 'report_assigned'
  | 'report_ready'
  | 'additional_data_required'
  | (string & {});

export interface AppNotification {
  id: number;
  type: NotificationType;
  title: string;
  body: string;
  upload_id: string | null;
  report_id: string | null;
  read: boolean;
  read_at: string | null;
  created_at: string;
}

export interface NotificationPage {
  items: AppNotification[];
  total: number;
  unread_count: number;
  page: number;
  page_size: number;
}

export interface PushConfig {
  enabled: boolean;
  public_key: string | null;
}
