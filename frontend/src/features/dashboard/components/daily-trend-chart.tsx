import { useState } from 'react';
import { CartesianGrid, Legend, Line, LineChart, Tooltip, XAxis, YAxis } from 'recharts';

import { ChartTable } from '@/features/dashboard/components/chart-table';
import { TREND_COLORS } from '@/features/dashboard/components/chart-colors';
import type { DailyStats } from '@/features/dashboard/types/stats';
import { formatCount, formatDay } from '@/features/dashboard/utils/format';

const WINDOWS = [7, 30] as const;
type TrendWindow = (typeof WINDOWS)[number];

const SERIES = [
  { key: 'uploads', name: 'Uploads', dash: undefined },
  { key: 'forwarded', name: 'Forwarded', dash: '6 3' },
  { key: 'failed', name: 'Failed', dash: '2 3' },
] as const;

/**
 * The last 7 or 30 days of the period: uploads, forwarded and failed per day (dashes tell the
 * lines apart besides their colours). A tab stop whose tooltip follows the arrow keys.
 */
export function DailyTrendChart({ data }: { data: DailyStats[] }) {
  const [days, setDays] = useState<TrendWindow>(30);
  const shown = data.slice(-days);
  return (
    <figure className="chart-card chart-card-wide" aria-labelledby="daily-chart-title">
      <figcaption className="chart-head">
        <h2 id="daily-chart-title">Daily trend</h2>
        <div className="segmented" role="group" aria-label="Days shown">
          {WINDOWS.map((value) => (
            <button
              key={value}
              type="button"
              aria-pressed={days === value}
              onClick={() => setDays(value)}
            >
              {value} days
            </button>
          ))}
        </div>
      </figcaption>
      <div className="chart-frame">
        <LineChart
          responsive
          style={{ width: '100%', height: '100%' }}
          data={shown}
          margin={{ top: 8, right: 12, bottom: 0, left: -16 }}
          title={`Daily trend, last ${days} days`}
        >
          <CartesianGrid strokeDasharray="3 3" vertical={false} />
          <XAxis dataKey="date" tickFormatter={formatDay} minTickGap={16} fontSize={12} />
          <YAxis allowDecimals={false} fontSize={12} />
          <Tooltip labelFormatter={(label) => formatDay(String(label))} />
          <Legend itemSorter={null} />
          {SERIES.map((series) => (
            <Line
              key={series.key}
              type="monotone"
              dataKey={series.key}
              name={series.name}
              stroke={TREND_COLORS[series.key]}
              strokeWidth={2}
              strokeDasharray={series.dash}
              dot={shown.length <= 31}
              isAnimationActive={false}
            />
          ))}
        </LineChart>
      </div>
      <ChartTable
        caption={`Uploads per day, last ${days} days`}
        columns={['Day', 'Uploads', 'Forwarded', 'Failed']}
        rows={shown.map((day) => [
          <time key="date" dateTime={day.date}>
            {day.date}
          </time>,
          formatCount(day.uploads),
          formatCount(day.forwarded),
          formatCount(day.failed),
        ])}
      />
    </figure>
  );
}
