import { useOnline } from '@/lib/network';

/** Shown when a page cannot load because the device is offline and nothing is cached for it. */
export function OfflinePage({ what = 'This page' }: { what?: string }) {
  const online = useOnline();
  return (
    <section className="card narrow" aria-labelledby="offline-title">
      <h1 id="offline-title">You are offline</h1>
      <p>
        {what} needs a connection and nothing is saved on this device yet. Uploads you start now are
        kept here and sent when the network is back.
      </p>
      <button type="button" className="button" disabled={!online} onClick={() => window.location.reload()}>
        Try again
      </button>
    </section>
  );
}
