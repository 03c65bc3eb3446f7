import { useCallback, useEffect, useRef, useState } from 'react';

import { errorMessage, errorStatus } from '@/lib/api-client';
import { readCache, writeCache } from '@/lib/db';

export interface CachedQuery<T> {
  data: T | null;
  /** The data comes from IndexedDB (the server could not be reached). */
  fromCache: boolean;
  /** When the shown data was fetched (epoch ms). */
  updatedAt: number | null;
  loading: boolean;
  error: string | null;
  reload: () => void;
}

/**
 * Fetch with a last-good copy in IndexedDB: offline (or on a network error) the cached copy is
 * shown and flagged, so the page can say "viewing cached data".
 */
export function useCachedQuery<T>(
  key: string,
  fetcher: () => Promise<T>,
  { pollMs, online }: { pollMs?: number; online: boolean },
): CachedQuery<T> {
  const [data, setData] = useState<T | null>(null);
  const [fromCache, setFromCache] = useState(false);
  const [updatedAt, setUpdatedAt] = useState<number | null>(null);
  const [loading, setLoading] = useState(true);
  const [error, setError] = useState<string | null>(null);
  const [tick, setTick] = useState(0);
  const fetcherRef = useRef(fetcher);
  fetcherRef.current = fetcher;

  useEffect(() => {
    let cancelled = false;
    (async () => {
      if (online) {
        try {
          const fresh = await fetcherRef.current();
          if (cancelled) return;
          setData(fresh);
          setFromCache(false);
          setUpdatedAt(Date.now());
          setError(null);
          setLoading(false);
          await writeCache(key, fresh);
          return;
        } catch (caught) {
          if (cancelled) return;
          // A real answer (4xx/5xx) is an error to show; no answer at all falls back to the cache.
          if (errorStatus(caught) !== null) {
            setError(errorMessage(caught));
            setLoading(false);
            return;
          }
        }
      }
      const cached = await readCache<T>(key);
      if (cancelled) return;
      if (cached) {
        setData(cached.value);
        setFromCache(true);
        setUpdatedAt(cached.updatedAt);
        setError(null);
      } else {
        setError(online ? 'The server cannot be reached.' : null);
      }
      setLoading(false);
    })();
    return () => {
      cancelled = true;
    };
  }, [key, online, tick]);

  useEffect(() => {
    if (!pollMs || !online) return;
    const timer = setInterval(() => setTick((value) => value + 1), pollMs);
    return () => clearInterval(timer);
  }, [pollMs, online]);

  const reload = useCallback(() => setTick((value) => value + 1), []);
  return { data, fromCache, updatedAt, loading, error, reload };
}
