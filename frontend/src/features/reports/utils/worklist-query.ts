import type { ReportStatus } from '@/features/reports/types/reports';
import type { operations } from '@/types/api.gen';
import { reportStatusValues, serviceLevelValues } from '@/types/api.gen';
import type { Schemas } from '@/types/api';

type ListParams = NonNullable<operations['list_reports_api_reports_get']['parameters']['query']>;
export type ReportSort = NonNullable<ListParams['sort']>;
export type ReportAssigned = NonNullable<ListParams['assigned']>;
export type ServiceLevel = Schemas['ServiceLevel'];

/** Every sort the API takes, in the order of the sort menu, with its label. */
export const SORT_OPTIONS: ReadonlyArray<{ value: ReportSort; label: string }> = [
  { value: 'priority', label: 'STAT first, oldest first' },
  { value: '-date', label: 'Newest first' },
  { value: 'date', label: 'Oldest first' },
  { value: 'service_level', label: 'Service level (STAT first)' },
  { value: '-service_level', label: 'Service level (routine first)' },
  { value: 'status', label: 'Status (A–Z)' },
  { value: '-status', label: 'Status (Z–A)' },
  { value: 'modality', label: 'Modality (A–Z)' },
  { value: '-modality', label: 'Modality (Z–A)' },
];
// A sort the API gains and the menu lacks is a type error here.
const _everySort: Record<ReportSort, true> = {
  priority: true,
  date: true,
  '-date': true,
  status: true,
  '-status': true,
  modality: true,
  '-modality': true,
  service_level: true,
  '-service_level': true,
};
void _everySort;

export const ASSIGNED_OPTIONS: ReadonlyArray<{ value: ReportAssigned; label: string }> = [
  { value: 'me', label: 'Assigned to me' },
  { value: 'unassigned', label: 'Unassigned' },
];

/** Modalities offered in the filter (a study's modality outside the list still filters from the URL). */
export const COMMON_MODALITIES = ['CT', 'MR', 'CR', 'DX', 'US', 'MG', 'NM', 'PT', 'XA', 'RF', 'OT'];

/** What the worklist shows: everything is kept in the URL's query string. */
export interface WorklistQuery {
  status: ReportStatus | '';
  modality: string;
  serviceLevel: ServiceLevel | '';
  assigned: ReportAssigned | '';
  dateFrom: string;
  dateTo: string;
  sort: ReportSort;
  page: number;
}

/** Radiologists and admins (who read every report) see the reading queue, everyone else the newest first. */
export function defaultSort(reader: boolean): ReportSort {
  return reader ? 'priority' : '-date';
}

const MODALITY = /^[A-Za-z0-9]{1,16}$/;
const DAY = /^\d{4}-\d{2}-\d{2}$/;

function oneOf<T extends string>(values: ReadonlyArray<T>, value: string | null): T | '' {
  return value !== null && (values as ReadonlyArray<string>).includes(value) ? (value as T) : '';
}

function isDay(value: string | null): value is string {
  return value !== null && DAY.test(value) && !Number.isNaN(Date.parse(`${value}T00:00:00Z`));
}

/** The worklist's state from the URL; values the API would refuse are dropped (a stale or hand-edited link). */
export function parseWorklist(params: URLSearchParams, { reader }: { reader: boolean }): WorklistQuery {
  const modality = params.get('modality') ?? '';
  const sort = oneOf(
    SORT_OPTIONS.map((option) => option.value),
    params.get('sort'),
  );
  const page = Number.parseInt(params.get('page') ?? '1', 10);
  return {
    status: oneOf(reportStatusValues, params.get('status')),
    modality: MODALITY.test(modality) ? modality.toUpperCase() : '',
    serviceLevel: oneOf(serviceLevelValues, params.get('service_level')),
    // Only those who are assigned reports filter by assignment.
    assigned: reader ? oneOf(ASSIGNED_OPTIONS.map((option) => option.value), params.get('assigned')) : '',
    dateFrom: isDay(params.get('date_from')) ? params.get('date_from')! : '',
    dateTo: isDay(params.get('date_to')) ? params.get('date_to')! : '',
    sort: sort || defaultSort(reader),
    page: Number.isFinite(page) && page >= 1 ? page : 1,
  };
}

/** The query string for `query`: defaults are left out, so the plain page has a plain URL. */
export function worklistSearch(query: WorklistQuery, { reader }: { reader: boolean }): URLSearchParams {
  const values = new URLSearchParams();
  if (query.status) values.set('status', query.status);
  if (query.modality) values.set('modality', query.modality);
  if (query.serviceLevel) values.set('service_level', query.serviceLevel);
  if (query.assigned) values.set('assigned', query.assigned);
  if (query.dateFrom) values.set('date_from', query.dateFrom);
  if (query.dateTo) values.set('date_to', query.dateTo);
  if (query.sort !== defaultSort(reader)) values.set('sort', query.sort);
  if (query.page > 1) values.set('page', String(query.page));
  return values;
}

/**
 * GET /api/reports parameters (one status: Axios would write an array as `status[]`); the page
 * size is the API's own.
 */
export function worklistParams(query: WorklistQuery): Record<string, string | number> {
  return {
    page: query.page,
    sort: query.sort,
    ...(query.status ? { status: query.status } : {}),
    ...(query.modality ? { modality: query.modality } : {}),
    ...(query.serviceLevel ? { service_level: query.serviceLevel } : {}),
    ...(query.assigned ? { assigned: query.assigned } : {}),
    ...(query.dateFrom ? { date_from: query.dateFrom } : {}),
    ...(query.dateTo ? { date_to: query.dateTo } : {}),
  };
}

/** Whether any filter narrows the list (for "no reports match" and "Clear filters"). */
export function isFiltered(query: WorklistQuery): boolean {
  return Boolean(
    query.status || query.modality || query.serviceLevel || query.assigned || query.dateFrom || query.dateTo,
  );
}

/** The IndexedDB key of one page of one view, per user (offline, the last copy of that exact view is shown). */
export function worklistCacheKey(userId: string, query: WorklistQuery): string {
  return `reports:${userId}:${new URLSearchParams(Object.entries(worklistParams(query)).map(([name, value]) => [name, String(value)])).toString()}`;
}
