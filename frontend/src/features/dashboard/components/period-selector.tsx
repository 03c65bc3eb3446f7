import { STATS_PERIODS, type StatsPeriod } from '@/features/dashboard/types/stats';

export const PERIOD_LABELS: Record<StatsPeriod, string> = {
  '1w': '1W',
  '2w': '2W',
  '1m': '1M',
  '3m': '3M',
  '6m': '6M',
  all: 'ALL',
};

const PERIOD_NAMES: Record<StatsPeriod, string> = {
  '1w': 'last week',
  '2w': 'last 2 weeks',
  '1m': 'last month',
  '3m': 'last 3 months',
  '6m': 'last 6 months',
  all: 'all time',
};

export function periodName(period: StatsPeriod): string {
  return PERIOD_NAMES[period];
}

/** 1W · 2W · 1M · 3M · 6M · ALL as toggle buttons (the pressed one is the period shown). */
export function PeriodSelector({ value, onChange }: { value: StatsPeriod; onChange: (period: StatsPeriod) => void }) {
  return (
    <div className="segmented segmented-fill" role="group" aria-label="Period">
      {STATS_PERIODS.map((period) => (
        <button
          key={period}
          type="button"
          aria-pressed={value === period}
          aria-label={`${PERIOD_LABELS[period]} (${PERIOD_NAMES[period]})`}
          onClick={() => onChange(period)}
        >
          {PERIOD_LABELS[period]}
        </button>
      ))}
    </div>
  );
}
