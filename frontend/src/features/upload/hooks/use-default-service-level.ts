import { useEffect, useState } from 'react';

import { getPreferences } from '@/features/upload/api/get-preferences';
import type { ServiceLevel } from '@/lib/upload/types';

const CACHE_KEY = 'relaypacs.upload.defaultServiceLevel';

/** The user's default service level (GET /api/me/preferences), remembered for offline use. */
export function useDefaultServiceLevel(): ServiceLevel | null {
  const [level, setLevel] = useState<ServiceLevel | null>(() => {
    try {
      return (localStorage.getItem(CACHE_KEY) as ServiceLevel | null) ?? null;
    } catch {
      return null;
    }
  });
  useEffect(() => {
    let cancelled = false;
    getPreferences()
      .then((prefs) => {
        if (cancelled) return;
        setLevel(prefs.default_service_level);
        try {
          localStorage.setItem(CACHE_KEY, prefs.default_service_level);
        } catch {
          // private mode: the default is simply not remembered
        }
      })
      .catch(() => undefined);
    return () => {
      cancelled = true;
    };
  }, []);
  return level;
}
