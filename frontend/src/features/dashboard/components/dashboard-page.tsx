import { useSearchParams } from 'react-router-dom';

import { OfflinePage } from '@/components/layout/offline-page';
import { CachedDataBadge } from '@/components/ui/cached-data-badge';
import { DailyTrendChart } from '@/features/dashboard/components/daily-trend-chart';
import { ExportButton } from '@/features/dashboard/components/export-button';
import { FacilityFilter } from '@/features/dashboard/components/facility-filter';
import { ModalityChart } from '@/features/dashboard/components/modality-chart';
import { PeriodSelector, periodName } from '@/features/dashboard/components/period-selector';
import { ServiceLevelChart } from '@/features/dashboard/components/service-level-chart';
import { StatCards } from '@/features/dashboard/components/stat-cards';
import { useUploadStats } from '@/features/dashboard/hooks/use-upload-stats';
import { STATS_PERIODS, type StatsPeriod } from '@/features/dashboard/types/stats';
import { useCan } from '@/lib/authorization';

import './dashboard.css';

export const DEFAULT_PERIOD: StatsPeriod = '1m';

function browserTimeZone(): string | undefined {
  try {
    return Intl.DateTimeFormat().resolvedOptions().timeZone || undefined;
  } catch {
    return undefined;
  }
}

const TIME_ZONE = browserTimeZone();

/**
 * Upload analytics in the signed-in user's scope (the server decides it): the key figures, the
 * modality, service-level and daily charts, and for admins a facility filter and the CSV export.
 * Period and facility live in the URL (?period=3m&facility=<id>), so a view can be bookmarked.
 */
export function DashboardPage() {
  const [params, setParams] = useSearchParams();
  const requested = params.get('period') ?? '';
  const period = (STATS_PERIODS as readonly string[]).includes(requested) ? (requested as StatsPeriod) : DEFAULT_PERIOD;
  const canFilter = useCan('facility:manage');
  const canExport = useCan('analytics:export');
  const facility = canFilter ? (params.get('facility') ?? '') : '';
  const statsQuery = { period, facility: facility || undefined, tz: TIME_ZONE };
  const query = useUploadStats(statsQuery);
  const stats = query.data;

  if (!stats && !query.loading && !query.online) return <OfflinePage what="The dashboard" />;

  function update(next: { period?: StatsPeriod; facility?: string }) {
    const values = new URLSearchParams();
    const nextPeriod = next.period ?? period;
    if (nextPeriod !== DEFAULT_PERIOD) values.set('period', nextPeriod);
    const nextFacility = next.facility ?? facility;
    if (nextFacility) values.set('facility', nextFacility);
    setParams(values, { replace: true });
  }

  return (
    <section
      aria-labelledby="dashboard-title"
      className="page dashboard"
      data-period={stats?.period ?? ''}
      data-ready={stats && stats.period === period ? 'true' : 'false'}
    >
      <div className="page-header">
        <h1 id="dashboard-title">Dashboard</h1>
        {query.fromCache && <CachedDataBadge updatedAt={query.updatedAt ?? undefined} />}
      </div>
      <div className="dashboard-toolbar">
        <PeriodSelector value={period} onChange={(next) => update({ period: next })} />
        {canFilter && <FacilityFilter value={facility} onChange={(next) => update({ facility: next })} />}
        {canExport && <ExportButton query={statsQuery} />}
      </div>
      {query.error && (
        <p role="alert" className="alert alert-error">
          {query.error}{' '}
          <button type="button" className="link-button" onClick={query.reload}>
            Try again
          </button>
        </p>
      )}
      {query.loading && !stats && <p role="status">Loading the dashboard…</p>}
      {stats && (
        <>
          <p className="dashboard-scope">
            Uploads of the {periodName(stats.period)}
            {stats.from && (
              <>
                {' '}
                (since <time dateTime={stats.from}>{new Date(stats.from).toLocaleDateString()}</time>)
              </>
            )}
            , as of <time dateTime={stats.generated_at}>{new Date(stats.generated_at).toLocaleTimeString()}</time>.
          </p>
          <StatCards stats={stats} />
          <div className="dashboard-charts">
            <ModalityChart data={stats.by_modality} />
            <ServiceLevelChart data={stats.by_service_level} />
            <DailyTrendChart data={stats.daily} />
          </div>
        </>
      )}
    </section>
  );
}
