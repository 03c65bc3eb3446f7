import { createContext, useCallback, useContext, useEffect, useMemo, useState, type ReactNode } from 'react';

import {
  apiClient,
  clearSession,
  hasStoredSession,
  onSessionExpired,
  refreshAccessToken,
  SessionExpiredError,
  setSession,
} from '@/lib/api-client';
import { db } from '@/lib/db';
import type { Me, TokenPair } from '@/types/api';

const ME_KEY = 'me';

export type AuthStatus = 'loading' | 'signed-in' | 'signed-out';

interface AuthContextValue {
  status: AuthStatus;
  user: Me | null;
  /** True when `user` comes from IndexedDB because the server could not be reached. */
  userFromCache: boolean;
  /** Store the tokens of a successful login and load the profile. */
  signIn: (pair: TokenPair) => Promise<Me>;
  signOut: () => Promise<void>;
}

const AuthContext = createContext<AuthContextValue | null>(null);

async function fetchMe(): Promise<Me> {
  const { data } = await apiClient.get<Me>('/api/auth/me');
  await db.auth.put({ key: ME_KEY, value: data, updatedAt: Date.now() });
  return data;
}

async function cachedMe(): Promise<Me | null> {
  return ((await db.auth.get(ME_KEY))?.value as Me | undefined) ?? null;
}

export function AuthProvider({ children }: { children: ReactNode }) {
  const [status, setStatus] = useState<AuthStatus>('loading');
  const [user, setUser] = useState<Me | null>(null);
  const [userFromCache, setUserFromCache] = useState(false);

  const becomeSignedOut = useCallback(() => {
    // The cached API answers (profile, sessions, admin lists, reports) belong to whoever was
    // signed in: on a shared device the next user must never see them offline.
    void db.cache.clear().catch(() => undefined);
    setUser(null);
    setUserFromCache(false);
    setStatus('signed-out');
  }, []);

  useEffect(() => onSessionExpired(becomeSignedOut), [becomeSignedOut]);

  useEffect(() => {
    let cancelled = false;
    (async () => {
      if (!(await hasStoredSession())) {
        if (!cancelled) becomeSignedOut();
        return;
      }
      try {
        await refreshAccessToken();
        const me = await fetchMe();
        if (cancelled) return;
        setUser(me);
        setUserFromCache(false);
        setStatus('signed-in');
      } catch (error) {
        if (cancelled) return;
        const me = error instanceof SessionExpiredError ? null : await cachedMe();
        if (me) {
          // Offline start of an installed app: stay signed in on the cached profile.
          setUser(me);
          setUserFromCache(true);
          setStatus('signed-in');
        } else {
          becomeSignedOut();
        }
      }
    })();
    return () => {
      cancelled = true;
    };
  }, [becomeSignedOut]);

  // Started offline on the cached profile: confirm the session once the network is back.
  useEffect(() => {
    if (!userFromCache) return;
    const confirm = () => {
      void (async () => {
        try {
          await refreshAccessToken();
          setUser(await fetchMe());
          setUserFromCache(false);
        } catch {
          // Still unreachable; a refused refresh already signed us out via onSessionExpired.
        }
      })();
    };
    window.addEventListener('online', confirm);
    return () => window.removeEventListener('online', confirm);
  }, [userFromCache]);

  const signIn = useCallback(async (pair: TokenPair) => {
    await setSession(pair);
    const me = await fetchMe();
    setUser(me);
    setUserFromCache(false);
    setStatus('signed-in');
    return me;
  }, []);

  const signOut = useCallback(async () => {
    try {
      // An expired access token is refreshed first, so the server really ends the session.
      await apiClient.post('/api/auth/logout');
    } catch {
      // Offline or already revoked: forgetting the tokens locally is what matters.
    }
    await clearSession();
    await db.auth.delete(ME_KEY);
    becomeSignedOut();
  }, [becomeSignedOut]);

  const value = useMemo(
    () => ({ status, user, userFromCache, signIn, signOut }),
    [status, user, userFromCache, signIn, signOut],
  );
  return <AuthContext.Provider value={value}>{children}</AuthContext.Provider>;
}

export function useAuth(): AuthContextValue {
  const value = useContext(AuthContext);
  if (!value) throw new Error('useAuth must be used inside <AuthProvider>');
  return value;
}
