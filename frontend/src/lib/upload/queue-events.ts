/**
 * Queue changes announced to every context of the origin (pages and the service worker)
 * over a BroadcastChannel, so a page shows what the service worker finished.
 */
export const QUEUE_CHANNEL = 'relaypacs-upload-queue';

export type QueueEvent =
  | { type: 'started'; id: string }
  | { type: 'completed'; id: string }
  | { type: 'failed'; id: string }
  | { type: 'changed'; id: string }
  | { type: 'progress'; id: string };

let channel: BroadcastChannel | null | undefined;

function getChannel(): BroadcastChannel | null {
  if (channel === undefined) {
    channel = typeof BroadcastChannel === 'undefined' ? null : new BroadcastChannel(QUEUE_CHANNEL);
  }
  return channel;
}

const localListeners = new Set<(event: QueueEvent) => void>();

/** Tells the other contexts (BroadcastChannel) and listeners in this one. */
export function publishQueueEvent(event: QueueEvent): void {
  getChannel()?.postMessage(event);
  localListeners.forEach((listener) => listener(event));
}

/** Listens to queue events from this context and the others; returns an unsubscribe. */
export function subscribeQueueEvents(listener: (event: QueueEvent) => void): () => void {
  localListeners.add(listener);
  const remote = typeof BroadcastChannel === 'undefined' ? null : new BroadcastChannel(QUEUE_CHANNEL);
  if (remote) remote.onmessage = (message: MessageEvent<QueueEvent>) => listener(message.data);
  return () => {
    localListeners.delete(listener);
    remote?.close();
  };
}
