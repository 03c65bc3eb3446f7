/**
 * One sender per upload across the page(s) and the service worker: a Web Lock named
 * `upload-<id>` (navigator.locks exists in both). Without Web Locks (old browsers, jsdom)
 * an in-memory set guards this context only.
 */
const held = new Set<string>();

export function uploadLockName(id: string): string {
  return `upload-${id}`;
}

function locks(): LockManager | undefined {
  return typeof navigator !== 'undefined' ? (navigator as Navigator).locks : undefined;
}

/**
 * Runs fn while holding the upload's lock. With `wait: false` returns `{ acquired: false }`
 * at once when someone else holds it.
 */
export async function withUploadLock<T>(
  id: string,
  fn: () => Promise<T>,
  { wait = false, signal }: { wait?: boolean; signal?: AbortSignal } = {},
): Promise<{ acquired: true; value: T } | { acquired: false }> {
  const name = uploadLockName(id);
  const manager = locks();
  if (manager) {
    const options: LockOptions = wait ? { mode: 'exclusive', signal } : { ifAvailable: true };
    return manager.request(name, options, async (lock) => {
      if (!lock) return { acquired: false as const };
      return { acquired: true as const, value: await fn() };
    });
  }
  if (held.has(name)) return { acquired: false };
  held.add(name);
  try {
    return { acquired: true, value: await fn() };
  } finally {
    held.delete(name);
  }
}

/** True when another context is sending this upload right now. */
export async function isUploadLocked(id: string): Promise<boolean> {
  const manager = locks();
  if (manager) {
    const state = await manager.query();
    return (state.held ?? []).some((l) => l.name === uploadLockName(id));
  }
  return held.has(uploadLockName(id));
}
