// Helpers of the dashboard scenarios (dashboard.mjs, dashboard-render.mjs).

/**
 * Whether the dashboard shows `period` completely: the answer for that period is on screen and
 * each of the three charts has drawn its shapes (or says the period is empty). Runs in the page.
 */
export function dashboardRendered(period) {
  const root = document.querySelector(`.dashboard[data-ready="true"][data-period="${period}"]`);
  if (!root) return false;
  const cards = root.querySelectorAll('.stat-card .stat-value');
  if (cards.length !== 4) return false;
  const charts = [...root.querySelectorAll('.chart-card')];
  if (charts.length !== 3) return false;
  const drawn = {
    pie: (chart) => chart.querySelector('.chart-empty') || chart.querySelector('.recharts-pie-sector path, path.recharts-sector'),
    bars: (chart) => chart.querySelectorAll('.recharts-xAxis .recharts-cartesian-axis-tick').length === 3,
    // A one-day period has no curve to draw, only its dots.
    line: (chart) => chart.querySelector('.recharts-line-curve[d], .recharts-line-dot'),
  };
  const [pie, bars, line] = charts;
  return Boolean(drawn.pie(pie) && drawn.bars(bars) && drawn.line(line));
}

/**
 * Open /dashboard?period=… as a fresh navigation and return the milliseconds from the start of
 * that navigation (the document's time origin) until every figure and chart is drawn.
 */
export async function timeDashboardRender(page, period, { facility = '', timeoutMs = 30_000 } = {}) {
  const query = new URLSearchParams({ period, ...(facility ? { facility } : {}) });
  await page.goto(`/dashboard?${query}`, { waitUntil: 'commit' });
  // The check travels as source text (an expression), as page functions cannot close over helpers.
  const handle = await page.waitForFunction(
    `(${dashboardRendered.toString()})(${JSON.stringify(period)}) ? performance.now() : false`,
    null,
    { polling: 'raf', timeout: timeoutMs },
  );
  return Math.round(await handle.jsonValue());
}

/** The four figures as shown on the cards: {total_uploads, volume_gb, success_rate, avg_upload_seconds}. */
export async function readFigures(page) {
  return page.evaluate(() =>
    Object.fromEntries(
      [...document.querySelectorAll('.stat-card')].map((card) => [
        card.dataset.stat,
        card.querySelector('.stat-value').textContent,
      ]),
    ),
  );
}

/** The cards' formats (as src/features/dashboard/utils/format.ts), to compare with the API. */
export function expectedFigures(stats) {
  const duration = (seconds) => {
    if (seconds === null) return '—';
    if (seconds < 1) return `${Math.round(seconds * 10) / 10} s`;
    const total = Math.round(seconds);
    const [d, h, m, s] = [Math.floor(total / 86400), Math.floor((total % 86400) / 3600), Math.floor((total % 3600) / 60), total % 60];
    if (d) return h ? `${d} d ${h} h` : `${d} d`;
    if (h) return m ? `${h} h ${m} min` : `${h} h`;
    if (m) return s ? `${m} min ${s} s` : `${m} min`;
    return `${s} s`;
  };
  return {
    total_uploads: new Intl.NumberFormat('en').format(stats.total_uploads),
    volume_gb: `${stats.volume_gb.toFixed(2)} GB`,
    success_rate:
      stats.success_rate === null
        ? '—'
        : new Intl.NumberFormat('en', { style: 'percent', maximumFractionDigits: 2 }).format(stats.success_rate),
    avg_upload_seconds: duration(stats.avg_upload_seconds),
  };
}
