import type {
  AdminUser,
  InvitationCreate,
  UserCreate,
  UserPage,
  UserSession,
  UserUpdate,
} from '@/features/admin/types/admin';
import { type UserFilters, userListParams } from '@/features/admin/utils/filters';
import { apiClient } from '@/lib/api-client';

export const USERS_PAGE_SIZE = 25;

export async function listUsers(filters: UserFilters, page: number): Promise<UserPage> {
  const { data } = await apiClient.get<UserPage>('/api/users', {
    params: { ...userListParams(filters), page, page_size: USERS_PAGE_SIZE },
  });
  return data;
}

export async function getUser(userId: string): Promise<AdminUser> {
  const { data } = await apiClient.get<AdminUser>(`/api/users/${encodeURIComponent(userId)}`);
  return data;
}

export async function createUser(body: UserCreate): Promise<AdminUser> {
  const { data } = await apiClient.post<AdminUser>('/api/users', body);
  return data;
}

export async function inviteUser(body: InvitationCreate): Promise<AdminUser> {
  const { data } = await apiClient.post<AdminUser>('/api/users/invitations', body);
  return data;
}

/** Mail an invited user a new link (their earlier links stop working); 409 when none is pending. */
export async function reissueInvitation(userId: string): Promise<AdminUser> {
  const { data } = await apiClient.post<AdminUser>(`/api/users/${encodeURIComponent(userId)}/invitation`, {});
  return data;
}

export async function updateUser(userId: string, changes: UserUpdate): Promise<AdminUser> {
  const { data } = await apiClient.patch<AdminUser>(`/api/users/${encodeURIComponent(userId)}`, changes);
  return data;
}

export async function decideMembership(userId: string, decision: 'approve' | 'reject'): Promise<AdminUser> {
  const { data } = await apiClient.post<AdminUser>(
    `/api/users/${encodeURIComponent(userId)}/membership/${decision}`,
    {},
  );
  return data;
}

export async function getUserSessions(userId: string): Promise<UserSession[]> {
  const { data } = await apiClient.get<{ items: UserSession[] }>(
    `/api/users/${encodeURIComponent(userId)}/sessions`,
  );
  return data.items;
}
