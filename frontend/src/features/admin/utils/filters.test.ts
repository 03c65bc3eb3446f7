import { describe, expect, it } from 'vitest';

import {
  auditFiltersFrom,
  auditParams,
  invalidRange,
  isUuid,
  localMidnight,
  pageCount,
  userFiltersFrom,
  userListParams,
} from '@/features/admin/utils/filters';
import { healthLabel } from '@/features/admin/utils/pacs';

describe('user list filters', () => {
  it('reads the address bar and sends only the filters that are set', () => {
    const filters = userFiltersFrom(new URLSearchParams('q=%20ada%20&role=radiologist&active=false&pending=true'));
    expect(userListParams(filters)).toEqual({ q: 'ada', role: 'radiologist', active: 'false', pending: 'true' });
    expect(userListParams(userFiltersFrom(new URLSearchParams()))).toEqual({});
  });

  it('ignores values the API would refuse (an unknown role, a non-boolean active)', () => {
    const filters = userFiltersFrom(new URLSearchParams('role=wizard&active=yes&pending=1'));
    expect(filters).toMatchObject({ role: '', active: '', pending: false });
  });
});

describe('audit filters', () => {
  it('turns the local date range into since/until covering whole days, the last one included', () => {
    const params = auditParams({ actorId: '', action: ' user_disabled ', outcome: 'denied', from: '2026-12-01', to: '2026-12-01' });
    expect(params.action).toBe('user_disabled');
    expect(params.outcome).toBe('denied');
    expect(params.since).toBe(localMidnight('2026-12-01'));
    expect(params.until).toBe(localMidnight('2026-12-02'));
    expect(new Date(params.until).getTime() - new Date(params.since).getTime()).toBeGreaterThanOrEqual(23 * 3600_000);
    expect(params.since).toMatch(/^2026-12-01T00:00:00[+-]\d{2}:\d{2}$/);
  });

  it('crosses a month end when adding the day after the range', () => {
    expect(localMidnight('2026-01-31', 1).slice(0, 10)).toBe('2026-02-01');
  });

  it('refuses a range that ends before it starts and a malformed actor id', () => {
    expect(invalidRange({ from: '2026-12-02', to: '2026-12-01' })).toBe(true);
    expect(invalidRange({ from: '2026-12-01', to: '' })).toBe(false);
    expect(isUuid('7d1f0e4e-1111-4c4c-9999-000000000001')).toBe(true);
    expect(isUuid('ana.w')).toBe(false);
  });

  it('drops unknown outcomes and malformed days from the address bar', () => {
    expect(auditFiltersFrom(new URLSearchParams('outcome=maybe&from=yesterday&to=2026-12-01'))).toMatchObject({
      outcome: '',
      from: '',
      to: '2026-12-01',
    });
  });
});

describe('pages and health', () => {
  it('counts pages, at least one', () => {
    expect(pageCount(0, 25)).toBe(1);
    expect(pageCount(51, 25)).toBe(3);
  });

  it('names the health in words', () => {
    expect(healthLabel({ configured: true, up: true }).text).toBe('Up');
    expect(healthLabel({ configured: true, up: false }).text).toBe('Down');
    expect(healthLabel({ configured: true, up: null }).text).toBe('Not checked yet');
    expect(healthLabel({ configured: false, up: null }).text).toBe('Not configured');
  });
});
