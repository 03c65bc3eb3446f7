import { Bar, BarChart, CartesianGrid, Cell, Tooltip, XAxis, YAxis } from 'recharts';

import { ChartTable } from '@/features/dashboard/components/chart-table';
import { SERVICE_LEVEL_COLORS } from '@/features/dashboard/components/chart-colors';
import type { ServiceLevelStats } from '@/features/dashboard/types/stats';
import { formatCount } from '@/features/dashboard/utils/format';

/**
 * Uploads by service level (STAT, EMERGENCY, ROUTINE) as bars. Recharts' accessibility layer
 * makes the chart a tab stop whose tooltip follows the arrow keys.
 */
export function ServiceLevelChart({ data }: { data: ServiceLevelStats[] }) {
  return (
    <figure className="chart-card" aria-labelledby="service-level-chart-title">
      <figcaption>
        <h2 id="service-level-chart-title">Uploads by service level</h2>
        <p className="chart-hint">Focus the chart and use the arrow keys for each bar’s figures.</p>
      </figcaption>
      <div className="chart-frame">
        <BarChart
          responsive
          style={{ width: '100%', height: '100%' }}
          data={data}
          margin={{ top: 8, right: 8, bottom: 0, left: -16 }}
          title="Uploads by service level"
        >
          <CartesianGrid strokeDasharray="3 3" vertical={false} />
          {/* Three bars: every label is shown, however narrow the screen. */}
          <XAxis dataKey="service_level" interval={0} fontSize={12} />
          <YAxis allowDecimals={false} fontSize={12} />
          <Tooltip formatter={(value) => [formatCount(Number(value)), 'Uploads']} />
          <Bar dataKey="uploads" name="Uploads" isAnimationActive={false}>
            {data.map((item) => (
              <Cell key={item.service_level} fill={SERVICE_LEVEL_COLORS[item.service_level]} />
            ))}
          </Bar>
        </BarChart>
      </div>
      <ChartTable
        caption="Uploads by service level"
        columns={['Service level', 'Uploads']}
        rows={data.map((item) => [item.service_level, formatCount(item.uploads)])}
      />
    </figure>
  );
}
