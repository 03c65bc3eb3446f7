import { apiClient } from '@/lib/api-client';
import type { Schemas } from '@/types/api';

/** POST /api/invitations/accept: set the invited account's password with the mailed token. */
export async function acceptInvitation(token: string, password: string): Promise<Schemas['InvitationAccepted']> {
  const { data } = await apiClient.post<Schemas['InvitationAccepted']>(
    '/api/invitations/accept',
    { token, password },
    { skipAuth: true, skipAuthRefresh: true },
  );
  return data;
}
