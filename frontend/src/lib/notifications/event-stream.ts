import { apiClient } from '@/lib/api-client';
import type { Schemas } from '@/types/api';

/** POST /api/notifications/stream-ticket: a single-use ticket for one EventSource. */
export type StreamTicket = Schemas['StreamTicket'];

/** One Server-Sent Event of the notifications stream, with its (numeric) id. */
export interface StreamEvent<T = unknown> {
  type: string;
  id: string;
  data: T;
}

export type StreamState = 'idle' | 'connecting' | 'open' | 'waiting' | 'offline' | 'stopped';

export const STREAM_EVENT_TYPES = ['notification', 'report_updated'] as const;

type EventSourceFactory = (url: string) => EventSource;

export interface EventStreamOptions {
  onEvent: (event: StreamEvent) => void;
  onStateChange?: (state: StreamState) => void;
  /**
   * A reconnection opened that could not replay (no event had been received yet, so there is no
   * id to resume after): whatever happened in between must be re-read.
   */
  onResync?: () => void;
  /** Defaults to POST /api/notifications/stream-ticket through apiClient. */
  getTicket?: () => Promise<StreamTicket>;
  createEventSource?: EventSourceFactory;
  eventTypes?: readonly string[];
  /** Backoff: base * 2^attempt, capped, times a jitter factor in [0.5, 1). */
  baseDelayMs?: number;
  maxDelayMs?: number;
  random?: () => number;
  /** Where `online`/`offline` events come from (window). */
  target?: Pick<EventTarget, 'addEventListener' | 'removeEventListener'>;
  isOnline?: () => boolean;
  /**
   * Back in the foreground after this long hidden (a phone asleep, a laptop lid closed), the
   * connection may be half-open without any error: reconnect (lossless, with after=).
   */
  staleAfterHiddenMs?: number;
  /** Where `visibilitychange` comes from and its `visibilityState` (document). */
  visibility?: Pick<Document, 'addEventListener' | 'removeEventListener' | 'visibilityState'>;
}

export async function requestStreamTicket(): Promise<StreamTicket> {
  const { data } = await apiClient.post<StreamTicket>('/api/notifications/stream-ticket');
  return data;
}

/** Append `after=<id>` to a stream URL (which already carries `?ticket=`). */
export function withAfter(url: string, lastId: string | null): string {
  if (!lastId) return url;
  return `${url}${url.includes('?') ? '&' : '?'}after=${encodeURIComponent(lastId)}`;
}

/**
 * The notifications event stream. Every connection needs a new single-use ticket, so
 * EventSource's own reconnect (which would reuse the spent ticket) is never relied on: on any
 * error the source is closed and a new ticket opens a new one with `after=<last event id>`, so
 * the server replays what was missed. Backoff with jitter between attempts; paused while the
 * browser is offline and resumed on `online`; `stop()` (sign-out) ends it for good.
 */
export class EventStream {
  private readonly options: EventStreamOptions;
  private source: EventSource | null = null;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private attempt = 0;
  private generation = 0;
  private running = false;
  private connectedBefore = false;
  private hiddenSince: number | null = null;
  private currentState: StreamState = 'idle';
  lastEventId: string | null = null;

  constructor(options: EventStreamOptions) {
    this.options = options;
  }

  get state(): StreamState {
    return this.currentState;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    const target = this.target();
    target?.addEventListener('online', this.handleOnline);
    target?.addEventListener('offline', this.handleOffline);
    this.visibility()?.addEventListener('visibilitychange', this.handleVisibility);
    if (this.online()) void this.connect();
    else this.setState('offline');
  }

  stop(): void {
    this.running = false;
    this.generation += 1;
    const target = this.target();
    target?.removeEventListener('online', this.handleOnline);
    target?.removeEventListener('offline', this.handleOffline);
    this.visibility()?.removeEventListener('visibilitychange', this.handleVisibility);
    this.closeSource();
    this.clearTimer();
    this.setState('stopped');
  }

  /** Drop the current connection and reconnect now (e.g. the app came back to the foreground). */
  reconnectNow(): void {
    if (!this.running || !this.online()) return;
    this.attempt = 0;
    this.closeSource();
    this.clearTimer();
    void this.connect();
  }

  private readonly handleOnline = (): void => {
    if (!this.running) return;
    this.attempt = 0;
    this.clearTimer();
    if (!this.source) void this.connect();
  };

  private readonly handleOffline = (): void => {
    if (!this.running) return;
    this.generation += 1;
    this.closeSource();
    this.clearTimer();
    this.setState('offline');
  };

  private readonly handleVisibility = (): void => {
    const visibility = this.visibility();
    if (!visibility || !this.running) return;
    if (visibility.visibilityState === 'hidden') {
      this.hiddenSince = Date.now();
      return;
    }
    const hiddenFor = this.hiddenSince === null ? 0 : Date.now() - this.hiddenSince;
    this.hiddenSince = null;
    if (hiddenFor >= (this.options.staleAfterHiddenMs ?? 60_000) && this.source) this.reconnectNow();
  };

  private visibility() {
    if (this.options.visibility) return this.options.visibility;
    return typeof document !== 'undefined' ? document : undefined;
  }

  private target() {
    if (this.options.target) return this.options.target;
    return typeof window !== 'undefined' ? window : undefined;
  }

  private online(): boolean {
    if (this.options.isOnline) return this.options.isOnline();
    return typeof navigator === 'undefined' ? true : navigator.onLine;
  }

  private setState(state: StreamState): void {
    if (state === this.currentState) return;
    this.currentState = state;
    this.options.onStateChange?.(state);
  }

  private closeSource(): void {
    if (this.source) {
      this.source.close();
      this.source = null;
    }
  }

  private clearTimer(): void {
    if (this.timer !== null) {
      clearTimeout(this.timer);
      this.timer = null;
    }
  }

  private async connect(): Promise<void> {
    const generation = ++this.generation;
    this.setState('connecting');
    let ticket: StreamTicket;
    try {
      ticket = await (this.options.getTicket ?? requestStreamTicket)();
    } catch {
      if (generation === this.generation) this.scheduleReconnect();
      return;
    }
    if (!this.running || generation !== this.generation) return;
    const create = this.options.createEventSource ?? ((url: string) => new EventSource(url));
    const resumable = this.lastEventId !== null;
    const source = create(withAfter(ticket.stream_url, this.lastEventId));
    this.source = source;
    source.onopen = () => {
      if (this.source !== source) return;
      this.attempt = 0;
      const again = this.connectedBefore;
      this.connectedBefore = true;
      if (again && !resumable) this.options.onResync?.();
      this.setState('open');
    };
    source.onerror = () => {
      if (this.source !== source) return;
      // Never let EventSource retry on its own: its URL holds a spent ticket.
      this.closeSource();
      this.scheduleReconnect();
    };
    // A fresh stream's first event: where the stream stands, so a drop before any real
    // event still resumes (after=) without losing anything. Not handed to onEvent.
    source.addEventListener('ready', (event: Event) => {
      if (this.source !== source) return;
      const message = event as MessageEvent<string>;
      if (message.lastEventId) this.lastEventId = message.lastEventId;
    });
    for (const type of this.options.eventTypes ?? STREAM_EVENT_TYPES) {
      source.addEventListener(type, (event: Event) => {
        if (this.source !== source) return;
        const message = event as MessageEvent<string>;
        if (message.lastEventId) this.lastEventId = message.lastEventId;
        let data: unknown = message.data;
        try {
          data = JSON.parse(message.data);
        } catch {
          // Not JSON: hand over the raw text.
        }
        this.options.onEvent({ type, id: message.lastEventId, data });
      });
    }
  }

  private scheduleReconnect(): void {
    if (!this.running) return;
    if (!this.online()) {
      this.setState('offline');
      return;
    }
    this.setState('waiting');
    const base = this.options.baseDelayMs ?? 1000;
    const max = this.options.maxDelayMs ?? 30_000;
    const random = this.options.random ?? Math.random;
    const delay = Math.min(max, base * 2 ** this.attempt) * (0.5 + random() / 2);
    this.attempt = Math.min(this.attempt + 1, 16);
    this.clearTimer();
    this.timer = setTimeout(() => {
      this.timer = null;
      if (this.running && !this.source) void this.connect();
    }, delay);
  }
}
