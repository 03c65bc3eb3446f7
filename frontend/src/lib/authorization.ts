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
