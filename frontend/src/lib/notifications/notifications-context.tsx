import {
  createContext,
  useCallback,
  useContext,
  useEffect,
  useMemo,
  useRef,
  useState,
  type ReactNode,
} from 'react';

import { apiClient } from '@/lib/api-client';
import { showUnreadCount } from '@/lib/app-badge';
import { useAuth } from '@/lib/auth';
import { EventStream, type StreamEvent, type StreamState } from '@/lib/notifications/event-stream';
import type { Schemas } from '@/types/api';

/** The fields of a stored notification the shell needs (the `notification` event's data). */
export type LiveNotification = Pick<
  Schemas['NotificationRead'],
  'id' | 'type' | 'title' | 'body' | 'upload_id' | 'report_id' | 'read'
>;

type Listener = (event: StreamEvent) => void;

/** A synthetic event: the stream reconnected without replay; listeners should re-read. */
export const RESYNC = 'resync';

interface NotificationsContextValue {
  /** Unread notifications of the signed-in user (null until known). */
  unreadCount: number | null;
  /** Re-read the count from the server (after marking read/unread). */
  refreshUnread: (announceIncrease?: boolean) => void;
  setUnreadCount: (count: number) => void;
  /** The newest notification received live (for announcements). */
  latest: LiveNotification | null;
  streamState: StreamState;
  /** Listen to every stream event (`notification`, `report_updated`); returns unsubscribe. */
  subscribe: (listener: Listener) => () => void;
}

const NotificationsContext = createContext<NotificationsContextValue | null>(null);

export interface NotificationsProviderProps {
  children: ReactNode;
  /** For tests: build the stream (defaults to a real EventStream). */
  createStream?: (options: ConstructorParameters<typeof EventStream>[0]) => Pick<EventStream, 'start' | 'stop'>;
}

async function fetchUnreadCount(): Promise<number> {
  const { data } = await apiClient.get<Schemas['NotificationPage']>('/api/notifications', {
    params: { page: 1, page_size: 1 },
  });
  return data.unread_count;
}

/** Opens the notifications stream while signed in and shares its events and the unread count. */
export function NotificationsProvider({ children, createStream }: NotificationsProviderProps) {
  const { status, user } = useAuth();
  const userId = status === 'signed-in' ? (user?.id ?? null) : null;
  const [unreadCount, setUnreadCount] = useState<number | null>(null);
  const [latest, setLatest] = useState<LiveNotification | null>(null);
  const [streamState, setStreamState] = useState<StreamState>('idle');
  const listeners = useRef(new Set<Listener>());
  const refreshTimer = useRef<ReturnType<typeof setTimeout> | null>(null);
  const resyncing = useRef(false);
  const countRef = useRef<number | null>(null);
  // Only the newest count request may set the count: an older answer (read before a
  // notification that has arrived since) would undo it.
  const countRequest = useRef(0);
  countRef.current = unreadCount;
  const userRef = useRef(userId);
  userRef.current = userId;

  const refreshUnread = useCallback((announceIncrease = false) => {
    const forUser = userRef.current;
    if (!forUser) return;
    const request = ++countRequest.current;
    fetchUnreadCount().then(
      (count) => {
        if (userRef.current !== forUser || request !== countRequest.current) return;
        const previous = countRef.current;
        setUnreadCount(count);
        if (announceIncrease && previous !== null && count > previous) {
          const more = count - previous;
          setLatest({
            id: -Date.now(),
            type: RESYNC,
            title: more === 1 ? '1 new notification' : `${more} new notifications`,
            body: 'Received while the connection was down.',
            upload_id: null,
            report_id: null,
            read: false,
          });
        }
      },
      () => {
        // Offline or a hiccup: keep the last known count.
      },
    );
  }, []);

  useEffect(() => {
    setUnreadCount(null);
    setLatest(null);
    if (!userId) {
      setStreamState('idle');
      return;
    }
    refreshUnread();
    const options = {
      onEvent: (event: StreamEvent) => {
        if (event.type === 'notification') {
          const item = event.data as LiveNotification;
          setLatest(item);
          // A count request still in flight may predate this notification: ignore its answer
          // and reconcile below instead.
          countRequest.current += 1;
          if (!item.read) setUnreadCount((count) => (count ?? 0) + 1);
          // Reconcile with the server shortly after (several events may arrive at once).
          if (refreshTimer.current) clearTimeout(refreshTimer.current);
          refreshTimer.current = setTimeout(refreshUnread, 1000);
        }
        listeners.current.forEach((listener) => listener(event));
      },
      onStateChange: (state: StreamState) => {
        setStreamState(state);
        if (state === 'open') {
          if (resyncing.current) resyncing.current = false;
          else refreshUnread();
        }
      },
      // Reconnected without a resume point: re-read everything instead of replaying.
      onResync: () => {
        resyncing.current = true;
        refreshUnread(true);
        const event: StreamEvent = { type: RESYNC, id: '', data: null };
        listeners.current.forEach((listener) => listener(event));
      },
    };
    const stream = createStream ? createStream(options) : new EventStream(options);
    stream.start();
    return () => {
      stream.stop();
      if (refreshTimer.current) clearTimeout(refreshTimer.current);
    };
  }, [userId, createStream, refreshUnread]);

  // The app icon's badge follows every change of the count; signing out clears it.
  useEffect(() => {
    if (status === 'signed-out') void showUnreadCount(0);
    else if (userId && unreadCount !== null) void showUnreadCount(unreadCount);
  }, [status, userId, unreadCount]);

  const subscribe = useCallback((listener: Listener) => {
    listeners.current.add(listener);
    return () => {
      listeners.current.delete(listener);
    };
  }, []);

  const value = useMemo(
    () => ({ unreadCount, refreshUnread, setUnreadCount, latest, streamState, subscribe }),
    [unreadCount, refreshUnread, latest, streamState, subscribe],
  );
  return <NotificationsContext.Provider value={value}>{children}</NotificationsContext.Provider>;
}

export function useNotifications(): NotificationsContextValue {
  const value = useContext(NotificationsContext);
  if (!value) throw new Error('useNotifications must be used inside <NotificationsProvider>');
  return value;
}

/** Run `listener` for each stream event of the given types (and every `resync`) while mounted. */
export function useStreamEvents(types: readonly string[], listener: (event: StreamEvent) => void): void {
  const { subscribe } = useNotifications();
  const ref = useRef(listener);
  ref.current = listener;
  const key = types.join(',');
  useEffect(
    () =>
      subscribe((event) => {
        if (event.type === RESYNC || key.split(',').includes(event.type)) ref.current(event);
      }),
    [subscribe, key],
  );
}
