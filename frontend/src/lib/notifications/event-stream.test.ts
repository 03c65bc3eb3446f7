import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

import { EventStream, type StreamEvent, type StreamTicket } from '@/lib/notifications/event-stream';

/** A stand-in for EventSource: records its URL, lets the test open, emit and fail it. */
class FakeSource {
  static all: FakeSource[] = [];
  onopen: ((event: Event) => void) | null = null;
  onerror: ((event: Event) => void) | null = null;
  closed = false;
  private readonly listeners = new Map<string, ((event: Event) => void)[]>();

  constructor(readonly url: string) {
    FakeSource.all.push(this);
  }

  addEventListener(type: string, listener: (event: Event) => void) {
    this.listeners.set(type, [...(this.listeners.get(type) ?? []), listener]);
  }

  close() {
    this.closed = true;
  }

  open() {
    this.onopen?.(new Event('open'));
  }

  emit(type: string, id: string, data: unknown) {
    const event = new MessageEvent(type, { data: JSON.stringify(data), lastEventId: id });
    this.listeners.get(type)?.forEach((listener) => listener(event));
  }

  fail() {
    this.onerror?.(new Event('error'));
  }
}

function setup({ online = true } = {}) {
  let n = 0;
  const state = { online };
  const getTicket = vi.fn(
    async (): Promise<StreamTicket> => {
      n += 1;
      return { ticket: `t${n}`, expires_in: 30, stream_url: `/api/notifications/stream?ticket=t${n}` };
    },
  );
  const events: StreamEvent[] = [];
  const target = new EventTarget();
  const stream = new EventStream({
    onEvent: (event) => events.push(event),
    getTicket,
    createEventSource: (url) => new FakeSource(url) as unknown as EventSource,
    random: () => 0.5,
    baseDelayMs: 1000,
    maxDelayMs: 8000,
    target,
    isOnline: () => state.online,
  });
  const goOffline = () => {
    state.online = false;
    target.dispatchEvent(new Event('offline'));
  };
  const goOnline = () => {
    state.online = true;
    target.dispatchEvent(new Event('online'));
  };
  return { stream, getTicket, events, goOffline, goOnline };
}

const last = () => FakeSource.all[FakeSource.all.length - 1];

describe('EventStream', () => {
  beforeEach(() => {
    FakeSource.all = [];
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('opens with a ticket, delivers parsed events and keeps the last id', async () => {
    const { stream, events } = setup();
    stream.start();
    await vi.runOnlyPendingTimersAsync();
    expect(last().url).toBe('/api/notifications/stream?ticket=t1');
    last().open();
    last().emit('notification', '41', { id: 7, title: 'Report ready' });
    last().emit('report_updated', '42', { report_id: 'r1', status: 'READY' });
    expect(events).toEqual([
      { type: 'notification', id: '41', data: { id: 7, title: 'Report ready' } },
      { type: 'report_updated', id: '42', data: { report_id: 'r1', status: 'READY' } },
    ]);
    expect(stream.lastEventId).toBe('42');
    expect(stream.state).toBe('open');
    stream.stop();
  });

  it("takes the server's `ready` resume point, so a drop before any event still replays (after=)", async () => {
    const { stream, events } = setup();
    stream.start();
    await vi.runOnlyPendingTimersAsync();
    last().open();
    last().emit('ready', '17', { last_event_id: 17 });
    expect(events).toEqual([]); // not an application event
    expect(stream.lastEventId).toBe('17');
    last().fail();
    await vi.advanceTimersByTimeAsync(1000);
    expect(last().url).toBe('/api/notifications/stream?ticket=t2&after=17');
    stream.stop();
  });

  it('on error closes the source and reconnects with a NEW ticket and after=<last id>, with backoff', async () => {
    const { stream, getTicket } = setup();
    stream.start();
    await vi.advanceTimersByTimeAsync(0);
    const first = last();
    first.open();
    first.emit('notification', '17', { id: 1 });
    first.fail();
    // EventSource must not retry with its spent ticket: we closed it.
    expect(first.closed).toBe(true);
    expect(stream.state).toBe('waiting');
    // Backoff: 1000 ms * jitter 0.75 → nothing before 750 ms.
    await vi.advanceTimersByTimeAsync(700);
    expect(FakeSource.all).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(100);
    expect(getTicket).toHaveBeenCalledTimes(2);
    expect(last().url).toBe('/api/notifications/stream?ticket=t2&after=17');
    // A second failure before opening waits twice as long (2000 * 0.75).
    last().fail();
    await vi.advanceTimersByTimeAsync(1400);
    expect(FakeSource.all).toHaveLength(2);
    await vi.advanceTimersByTimeAsync(200);
    expect(FakeSource.all).toHaveLength(3);
    expect(last().url).toBe('/api/notifications/stream?ticket=t3&after=17');
    stream.stop();
  });

  it('retries when the ticket request fails', async () => {
    const { stream, getTicket } = setup();
    getTicket.mockRejectedValueOnce(new Error('Network Error'));
    stream.start();
    await vi.advanceTimersByTimeAsync(0);
    expect(FakeSource.all).toHaveLength(0);
    await vi.advanceTimersByTimeAsync(1000);
    expect(FakeSource.all).toHaveLength(1);
    stream.stop();
  });

  it('does not reconnect after stop (sign-out)', async () => {
    const { stream, getTicket } = setup();
    stream.start();
    await vi.advanceTimersByTimeAsync(0);
    const source = last();
    source.open();
    source.fail();
    stream.stop();
    expect(stream.state).toBe('stopped');
    await vi.advanceTimersByTimeAsync(60_000);
    expect(getTicket).toHaveBeenCalledTimes(1);
    expect(FakeSource.all).toHaveLength(1);
    // An error arriving after stop changes nothing.
    source.fail();
    await vi.advanceTimersByTimeAsync(60_000);
    expect(FakeSource.all).toHaveLength(1);
  });

  it('does not open a source when stopped while the ticket is in flight', async () => {
    const { stream } = setup();
    stream.start();
    stream.stop();
    await vi.advanceTimersByTimeAsync(10_000);
    expect(FakeSource.all).toHaveLength(0);
  });

  it('pauses while offline and resumes on online with after=<last id>', async () => {
    const { stream, goOffline, goOnline } = setup();
    stream.start();
    await vi.advanceTimersByTimeAsync(0);
    last().open();
    last().emit('notification', '5', { id: 5 });
    goOffline();
    expect(last().closed).toBe(true);
    expect(stream.state).toBe('offline');
    await vi.advanceTimersByTimeAsync(120_000);
    expect(FakeSource.all).toHaveLength(1);
    goOnline();
    await vi.advanceTimersByTimeAsync(0);
    expect(FakeSource.all).toHaveLength(2);
    expect(last().url).toBe('/api/notifications/stream?ticket=t2&after=5');
    stream.stop();
  });

  it('starting offline waits for online', async () => {
    const { stream, goOnline, getTicket } = setup({ online: false });
    stream.start();
    await vi.advanceTimersByTimeAsync(5000);
    expect(getTicket).not.toHaveBeenCalled();
    goOnline();
    await vi.advanceTimersByTimeAsync(0);
    expect(last().url).toBe('/api/notifications/stream?ticket=t1');
    stream.stop();
  });
});

describe('EventStream without a resume point', () => {
  beforeEach(() => {
    FakeSource.all = [];
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('asks for a resync when it reconnects before any event arrived (nothing to replay after)', async () => {
    const onResync = vi.fn();
    const stream = new EventStream({
      onEvent: () => {},
      onResync,
      getTicket: async () => ({ ticket: 't', expires_in: 30, stream_url: '/s?ticket=t' }),
      createEventSource: (url) => new FakeSource(url) as unknown as EventSource,
      random: () => 0,
      target: new EventTarget(),
      isOnline: () => true,
    });
    stream.start();
    await vi.advanceTimersByTimeAsync(0);
    last().open();
    expect(onResync).not.toHaveBeenCalled();
    last().fail();
    await vi.advanceTimersByTimeAsync(1000);
    expect(last().url).toBe('/s?ticket=t');
    last().open();
    expect(onResync).toHaveBeenCalledTimes(1);
    // With an id, the next reconnect replays instead.
    last().emit('report_updated', '9', {});
    last().fail();
    await vi.advanceTimersByTimeAsync(1000);
    expect(last().url).toBe('/s?ticket=t&after=9');
    last().open();
    expect(onResync).toHaveBeenCalledTimes(1);
    stream.stop();
  });
});

describe('EventStream back from the background', () => {
  beforeEach(() => {
    FakeSource.all = [];
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('reconnects (after=<last id>) when shown again after a long time hidden, not after a short one', async () => {
    const visibility = Object.assign(new EventTarget(), { visibilityState: 'visible' as DocumentVisibilityState });
    const setVisible = (state: DocumentVisibilityState) => {
      visibility.visibilityState = state;
      visibility.dispatchEvent(new Event('visibilitychange'));
    };
    let n = 0;
    const stream = new EventStream({
      onEvent: () => {},
      getTicket: async () => {
        n += 1;
        return { ticket: `t${n}`, expires_in: 30, stream_url: `/s?ticket=t${n}` };
      },
      createEventSource: (url) => new FakeSource(url) as unknown as EventSource,
      target: new EventTarget(),
      isOnline: () => true,
      visibility: visibility as unknown as Document,
      staleAfterHiddenMs: 60_000,
    });
    stream.start();
    await vi.advanceTimersByTimeAsync(0);
    last().open();
    last().emit('notification', '3', {});
    setVisible('hidden');
    await vi.advanceTimersByTimeAsync(5_000);
    setVisible('visible');
    await vi.advanceTimersByTimeAsync(0);
    expect(FakeSource.all).toHaveLength(1);
    setVisible('hidden');
    await vi.advanceTimersByTimeAsync(120_000);
    setVisible('visible');
    await vi.advanceTimersByTimeAsync(0);
    expect(FakeSource.all[0]!.closed).toBe(true);
    expect(FakeSource.all).toHaveLength(2);
    expect(last().url).toBe('/s?ticket=t2&after=3');
    stream.stop();
  });
});
