import type { Schemas } from '@/types/api';

export type AppNotification = Schemas['NotificationRead'];
export type NotificationPage = Schemas['NotificationPage'];
export type ReadAllResult = Schemas['ReadAllResult'];
export type PushConfig = Schemas['PushConfig'];
