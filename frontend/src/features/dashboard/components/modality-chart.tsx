import { useState } from 'react';
import { Cell, Pie, PieChart, Tooltip, type TooltipContentProps } from 'recharts';

import { ChartTable } from '@/features/dashboard/components/chart-table';
import { colorAt } from '@/features/dashboard/components/chart-colors';
import type { ModalityStats } from '@/features/dashboard/types/stats';
import { formatBytes, formatCount, formatRate } from '@/features/dashboard/utils/format';

function describe(item: ModalityStats, total: number): string {
  const share = total ? formatRate(Math.round((item.uploads / total) * 10_000) / 10_000) : '—';
  return `${item.modality}: ${formatCount(item.uploads)} uploads (${share}), ${formatBytes(item.bytes)}`;
}

function PieTooltip({ active, payload, total }: TooltipContentProps & { total: number }) {
  const item = active ? (payload?.[0]?.payload as ModalityStats | undefined) : undefined;
  return item ? <div className="chart-tooltip">{describe(item, total)}</div> : null;
}

/**
 * Uploads by modality as a pie with a colour-coded legend. The legend's entries are buttons: on
 * focus or hover they highlight their slice and show its tooltip, so the details are reachable
 * from the keyboard too.
 */
export function ModalityChart({ data }: { data: ModalityStats[] }) {
  const [focused, setFocused] = useState<number | null>(null);
  const total = data.reduce((sum, item) => sum + item.uploads, 0);
  const current = focused !== null ? data[focused] : undefined;
  return (
    <figure className="chart-card" aria-labelledby="modality-chart-title">
      <figcaption>
        <h2 id="modality-chart-title">Uploads by modality</h2>
      </figcaption>
      {total === 0 ? (
        <p className="chart-empty">No uploads in this period.</p>
      ) : (
        <div className="modality-chart">
          <div className="chart-frame chart-frame-pie">
            <PieChart
              responsive
              style={{ width: '100%', height: '100%' }}
              accessibilityLayer={false}
              title="Uploads by modality"
            >
              <Pie
                data={data}
                dataKey="uploads"
                nameKey="modality"
                innerRadius="45%"
                outerRadius="90%"
                isAnimationActive={false}
              >
                {data.map((item, index) => (
                  <Cell
                    key={item.modality}
                    fill={colorAt(index)}
                    stroke={focused === index ? '#1a1f24' : '#ffffff'}
                    strokeWidth={focused === index ? 3 : 1}
                  />
                ))}
              </Pie>
              <Tooltip content={(props) => <PieTooltip {...props} total={total} />} />
            </PieChart>
          </div>
          <ul className="chart-legend" aria-label="Modalities">
            {data.map((item, index) => (
              <li key={item.modality}>
                <button
                  type="button"
                  className="legend-button"
                  aria-pressed={focused === index}
                  onFocus={() => setFocused(index)}
                  onBlur={() => setFocused(null)}
                  onMouseEnter={() => setFocused(index)}
                  onMouseLeave={() => setFocused(null)}
                >
                  <span className="legend-swatch" style={{ background: colorAt(index) }} aria-hidden="true" />
                  <span className="legend-name">{item.modality}</span>
                  <span className="legend-value">{formatCount(item.uploads)}</span>
                </button>
              </li>
            ))}
          </ul>
          <p className="chart-tooltip chart-tooltip-static" role="status" aria-live="polite">
            {current ? describe(current, total) : ''}
          </p>
        </div>
      )}
      <ChartTable
        caption="Uploads by modality"
        columns={['Modality', 'Uploads', 'Volume']}
        rows={data.map((item) => [item.modality, formatCount(item.uploads), formatBytes(item.bytes)])}
      />
    </figure>
  );
}
