import { Workbox } from 'workbox-window';

let workbox: Workbox | null = null;

/** Registers /sw.js in production builds; returns the Workbox handle (or null). */
export function registerServiceWorker(): Workbox | null {
  if (workbox) return workbox;
  if (!import.meta.env.PROD || typeof navigator === 'undefined' || !('serviceWorker' in navigator)) {
    return null;
  }
  workbox = new Workbox('/sw.js', { scope: '/' });
  void workbox.register();
  return workbox;
}

export function getWorkbox(): Workbox | null {
  return workbox;
}
