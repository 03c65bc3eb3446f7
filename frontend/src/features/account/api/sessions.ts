import type { AccountSession, RevokedCount } from '@/features/account/types/account';
import { apiClient } from '@/lib/api-client';

/** GET /api/auth/sessions: every live session of mine, the current one marked. */
export async function listSessions(): Promise<AccountSession[]> {
  const { data } = await apiClient.get<{ items: AccountSession[] }>('/api/auth/sessions');
  return data.items;
}

/** DELETE /api/auth/sessions/{id} */
export async function revokeSession(sessionId: string): Promise<void> {
  await apiClient.delete(`/api/auth/sessions/${encodeURIComponent(sessionId)}`);
}

/** POST /api/auth/sessions/revoke-all: the other sessions, or with `includeCurrent` this one too. */
export async function revokeAllSessions({ includeCurrent }: { includeCurrent: boolean }): Promise<number> {
  const { data } = await apiClient.post<RevokedCount>('/api/auth/sessions/revoke-all', null, {
    params: includeCurrent ? { include_current: true } : undefined,
  });
  return data.revoked;
}
