import { useAuth } from '@/lib/auth';
import type { Me, Permission } from '@/types/api';

/**
 * Whether `user` holds `permission` (a string of `/api/auth/me`'s `permissions`, e.g.
 * `report:update`). The server decides who may do what; the UI only follows its answer, so no
 * screen keeps a list of roles.
 */
export function can(user: Pick<Me, 'permissions'> | null | undefined, permission: Permission): boolean {
  return user?.permissions.includes(permission) ?? false;
}

/** `can` for the signed-in user. */
export function useCan(permission: Permission): boolean {
  const { user } = useAuth();
  return can(user, permission);
}

/** The main navigation's entries, each shown only to users whose permissions allow it. */
export type NavEntry = 'upload' | 'history' | 'reports' | 'dashboard' | 'admin';

export function navEntries(user: Pick<Me, 'permissions'> | null | undefined): NavEntry[] {
  if (!user) return [];
  const entries: NavEntry[] = [];
  if (can(user, 'upload:create')) entries.push('upload');
  if (can(user, 'upload:create') || can(user, 'upload:read_all')) entries.push('history');
  if (can(user, 'report:read_own') || can(user, 'report:read_all')) entries.push('reports');
  // Everyone has a dashboard (of their own scope).
  entries.push('dashboard');
  if (can(user, 'user:manage')) entries.push('admin');
  return entries;
}
