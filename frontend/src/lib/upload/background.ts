/** Sends every queued upload; called by the service worker's Background Sync handler. Part B replaces this. */
export async function drainQueue(): Promise<void> {}
