import { useEffect } from 'react';
import { isRouteErrorResponse, useRouteError } from 'react-router-dom';

import { OfflinePage } from '@/components/layout/offline-page';
import { reportCaughtError } from '@/lib/error-reporting/start';

/** The router's error screen: offline-aware (a lazy chunk may fail to load offline). */
export function RouteError() {
  const error = useRouteError();
  useEffect(() => {
    // A page that threw while rendering or loading (not a 404 answered by the router).
    if (!isRouteErrorResponse(error)) reportCaughtError(error);
  }, [error]);
  if (typeof navigator !== 'undefined' && !navigator.onLine) return <OfflinePage />;
  const message = isRouteErrorResponse(error) ? `${error.status} ${error.statusText}` : 'Something went wrong.';
  return (
    <section className="card narrow" role="alert">
      <h1>Something went wrong</h1>
      <p>{message}</p>
      <button type="button" className="button" onClick={() => window.location.reload()}>
        Reload
      </button>
    </section>
  );
}
