/**
 * GET /api/upload/stats and its export (issue 13), written by hand from the contract
 * because the backend (branch stats-api) is not merged yet. To be replaced by aliases of the
 * generated `Schemas` (`@/types/api`) once it lands and `make api-types` has run.
 */

export const STATS_PERIODS = ['1w', '2w', '1m', '3m', '6m', 'all'] as const;
export type StatsPeriod = (typeof STATS_PERIODS)[number];

export const SERVICE_LEVELS = ['STAT', 'EMERGENCY', 'ROUTINE'] as const;
export type StatsServiceLevel = (typeof SERVICE_LEVELS)[number];

export interface StatsOutcomes {
  forwarded: number;
  failed: number;
  in_progress: number;
  cancelled: number;
  expired: number;
}

export interface ModalityStats {
  modality: string;
  uploads: number;
  bytes: number;
}

export interface ServiceLevelStats {
  service_level: StatsServiceLevel;
  uploads: number;
}

export interface DailyStats {
  /** YYYY-MM-DD in the requested time zone. */
  date: string;
  uploads: number;
  forwarded: number;
  failed: number;
}

export interface UploadStats {
  period: StatsPeriod;
  /** ISO 8601; null for `all`. */
  from: string | null;
  to: string;
  generated_at: string;
  total_uploads: number;
  volume_bytes: number;
  /** 10^9 bytes, 2 decimals. */
  volume_gb: number;
  /** 0–1, 4 decimals; null when no upload of the period reached forwarded or failed. */
  success_rate: number | null;
  avg_upload_seconds: number | null;
  avg_delivery_seconds: number | null;
  by_outcome: StatsOutcomes;
  /** Largest first. */
  by_modality: ModalityStats[];
  /** STAT, EMERGENCY and ROUTINE, always all three. */
  by_service_level: ServiceLevelStats[];
  /** One row per day of the period, zero-filled. */
  daily: DailyStats[];
}

export interface StatsQuery {
  period: StatsPeriod;
  /** A facility id (admins only). */
  facility?: string;
  /** An IANA time zone for the day boundaries. */
  tz?: string;
}
