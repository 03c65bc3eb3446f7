import { describe, expect, it } from 'vitest';

import { can } from '@/lib/authorization';
import type { Me } from '@/types/api';

describe('can', () => {
  it('follows the permissions of /api/auth/me', () => {
    const radiologist: Pick<Me, 'permissions'> = { permissions: ['report:read_all', 'report:update'] };
    expect(can(radiologist, 'report:update')).toBe(true);
    expect(can(radiologist, 'upload:create')).toBe(false);
  });

  it('allows nothing without a user', () => {
    expect(can(null, 'report:update')).toBe(false);
  });
});
