/** GET /api/upload/stats and its export (issue 13): the generated API types. */

import type { Schemas } from '@/types/api';

export type StatsPeriod = Schemas['Period'];
export const STATS_PERIODS = ['1w', '2w', '1m', '3m', '6m', 'all'] as const satisfies readonly StatsPeriod[];

export type StatsServiceLevel = Schemas['ServiceLevelCount']['service_level'];
export const SERVICE_LEVELS = ['STAT', 'EMERGENCY', 'ROUTINE'] as const satisfies readonly StatsServiceLevel[];

export type StatsOutcomes = Schemas['Outcomes'];
export type ModalityStats = Schemas['ModalityCount'];
export type ServiceLevelStats = Schemas['ServiceLevelCount'];
export type DailyStats = Schemas['DailyCount'];
export type UploadStats = Schemas['UploadStats'];

export interface StatsQuery {
  period: StatsPeriod;
  /** A facility id (admins only). */
  facility?: string;
  /** An IANA time zone for the day boundaries. */
  tz?: string;
}
