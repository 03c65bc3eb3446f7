import { AUDIT_OUTCOMES, ROLES, type AuditOutcome, type Role } from '@/features/admin/types/admin';

/** The user list's filters, as kept in the address bar (so a filtered list can be shared). */
export interface UserFilters {
  q: string;
  role: Role | '';
  facilityId: string;
  active: '' | 'true' | 'false';
  pending: boolean;
}

export function userFiltersFrom(params: URLSearchParams): UserFilters {
  const role = params.get('role') ?? '';
  const active = params.get('active') ?? '';
  return {
    q: params.get('q') ?? '',
    role: (ROLES as string[]).includes(role) ? (role as Role) : '',
    facilityId: params.get('facility') ?? '',
    active: active === 'true' || active === 'false' ? active : '',
    pending: params.get('pending') === 'true',
  };
}

/** The query string of GET /api/users for these filters (empty ones left out). */
export function userListParams(filters: UserFilters): Record<string, string> {
  const params: Record<string, string> = {};
  if (filters.q.trim()) params.q = filters.q.trim();
  if (filters.role) params.role = filters.role;
  if (filters.facilityId) params.facility_id = filters.facilityId;
  if (filters.active) params.active = filters.active;
  if (filters.pending) params.pending = 'true';
  return params;
}

export interface AuditFilters {
  actorId: string;
  action: string;
  outcome: AuditOutcome | '';
  /** YYYY-MM-DD, local days, both included. */
  from: string;
  to: string;
}

export function auditFiltersFrom(params: URLSearchParams): AuditFilters {
  const outcome = params.get('outcome') ?? '';
  const day = (value: string | null) => (value && /^\d{4}-\d{2}-\d{2}$/.test(value) ? value : '');
  return {
    actorId: params.get('actor') ?? '',
    action: params.get('action') ?? '',
    outcome: (AUDIT_OUTCOMES as readonly string[]).includes(outcome) ? (outcome as AuditOutcome) : '',
    from: day(params.get('from')),
    to: day(params.get('to')),
  };
}

/** Midnight of a local calendar day, as RFC 3339 with this device's offset (what the API wants). */
export function localMidnight(day: string, addDays = 0): string {
  const [year, month, date] = day.split('-').map(Number);
  const midnight = new Date(year, month - 1, date + addDays);
  const offset = -midnight.getTimezoneOffset();
  const sign = offset >= 0 ? '+' : '-';
  const pad = (n: number) => String(Math.floor(Math.abs(n))).padStart(2, '0');
  return (
    `${midnight.getFullYear()}-${pad(midnight.getMonth() + 1)}-${pad(midnight.getDate())}T00:00:00` +
    `${sign}${pad(offset / 60)}:${pad(offset % 60)}`
  );
}

/**
 * GET /api/audit's query for these filters: the date range covers whole local days, `to`
 * included (`until` is the next day's midnight, exclusive).
 */
export function auditParams(filters: AuditFilters): Record<string, string> {
  const params: Record<string, string> = {};
  if (filters.actorId.trim()) params.actor_id = filters.actorId.trim();
  if (filters.action.trim()) params.action = filters.action.trim();
  if (filters.outcome) params.outcome = filters.outcome;
  if (filters.from) params.since = localMidnight(filters.from);
  if (filters.to) params.until = localMidnight(filters.to, 1);
  return params;
}

/** Whether the filters name a date range that ends before it starts. */
export function invalidRange(filters: Pick<AuditFilters, 'from' | 'to'>): boolean {
  return Boolean(filters.from && filters.to && filters.from > filters.to);
}

export function pageCount(total: number, pageSize: number): number {
  return Math.max(1, Math.ceil(total / pageSize));
}

export function isUuid(value: string): boolean {
  return /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(value);
}
