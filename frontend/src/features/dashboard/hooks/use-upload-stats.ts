import { useCallback, useEffect, useRef } from 'react';

import { getUploadStats } from '@/features/dashboard/api/get-stats';
import type { StatsQuery, UploadStats } from '@/features/dashboard/types/stats';
import { useAuth } from '@/lib/auth';
import { useOnline } from '@/lib/network';
import { useCachedQuery, type CachedQuery } from '@/lib/use-cached-query';
import { useDocumentVisible } from '@/lib/visibility';

/** The dashboard refreshes this often while the page is visible and the browser online. */
export const STATS_REFRESH_MS = 60_000;

/**
 * The stats of `query`, with the last good answer kept offline ("viewing cached data"), refreshed
 * every minute only while the page is visible and online; back in view after a longer pause, it
 * refreshes at once.
 */
export function useUploadStats({ period, facility, tz }: StatsQuery): CachedQuery<UploadStats> & { online: boolean } {
  const online = useOnline();
  const visible = useDocumentVisible();
  const { user } = useAuth();
  const fetcher = useCallback(() => getUploadStats({ period, facility, tz }), [period, facility, tz]);
  const query = useCachedQuery<UploadStats>(
    `stats:${user?.id ?? 'anonymous'}:${period}:${facility ?? ''}:${tz ?? ''}`,
    fetcher,
    { online, pollMs: visible ? STATS_REFRESH_MS : undefined },
  );
  const { reload, updatedAt } = query;
  const wasVisible = useRef(visible);
  useEffect(() => {
    const cameBack = visible && !wasVisible.current;
    wasVisible.current = visible;
    if (cameBack && online && updatedAt !== null && Date.now() - updatedAt >= STATS_REFRESH_MS) reload();
  }, [visible, online, updatedAt, reload]);
  return { ...query, online };
}
