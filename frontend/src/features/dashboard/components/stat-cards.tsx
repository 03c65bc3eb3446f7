import type { UploadStats } from '@/features/dashboard/types/stats';
import { formatCount, formatDuration, formatGb, formatRate } from '@/features/dashboard/utils/format';

/** The four key figures (Total uploads, Volume GB, Success rate, Avg upload time). */
export function StatCards({ stats }: { stats: UploadStats }) {
  const { by_outcome: outcome } = stats;
  const cards = [
    {
      key: 'total_uploads',
      label: 'Total uploads',
      value: formatCount(stats.total_uploads),
      note: `${formatCount(outcome.in_progress)} in progress`,
    },
    {
      key: 'volume_gb',
      label: 'Volume',
      value: formatGb(stats.volume_gb),
      note: 'received in completed uploads',
    },
    {
      key: 'success_rate',
      label: 'Success rate',
      value: formatRate(stats.success_rate),
      note: `${formatCount(outcome.forwarded)} forwarded · ${formatCount(outcome.failed)} failed`,
    },
    {
      key: 'avg_upload_seconds',
      label: 'Avg upload time',
      value: formatDuration(stats.avg_upload_seconds),
      note: `delivery to PACS ${formatDuration(stats.avg_delivery_seconds)}`,
    },
  ];
  return (
    <dl className="stat-cards">
      {cards.map((card) => (
        <div key={card.key} className="stat-card" data-stat={card.key}>
          <dt>{card.label}</dt>
          <dd className="stat-value">{card.value}</dd>
          <dd className="stat-note">{card.note}</dd>
        </div>
      ))}
    </dl>
  );
}
