import { describe, expect, it } from 'vitest';

import { can, navEntries } from '@/lib/authorization';
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

describe('navEntries', () => {
  it('gives a radiologist the reports and dashboard, without Upload, History or Admin', () => {
    expect(navEntries({ permissions: ['report:read_own', 'report:read_all', 'report:update'] })).toEqual([
      'reports',
      'dashboard',
    ]);
  });

  it('gives a clinician Upload and History but not Admin', () => {
    expect(navEntries({ permissions: ['upload:create', 'upload:read_own', 'report:read_own'] })).toEqual([
      'upload',
      'history',
      'reports',
      'dashboard',
    ]);
  });

  it('gives an admin (user:manage) the Admin entry', () => {
    expect(
      navEntries({ permissions: ['upload:create', 'upload:read_all', 'report:read_all', 'user:manage'] }),
    ).toContain('admin');
  });

  it('shows nothing while nobody is signed in', () => {
    expect(navEntries(null)).toEqual([]);
  });
});
