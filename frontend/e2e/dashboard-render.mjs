// Dashboard time to first full render (bench/stats_latency.py runs it on its seeded data; see
// the report of issue 13). Signs in once through the UI, then for each period opens
// /dashboard?period=… as a fresh navigation E2E_RUNS times and measures navigation start → all
// four figures and the three charts drawn.
//
//   E2E_BASE_URL=http://127.0.0.1:8000 E2E_ARTIFACTS=/tmp/render E2E_USERNAME=admin \
//   E2E_PASSWORD=… [E2E_PERIODS=1w,1m,all] [E2E_RUNS=5] [E2E_FACILITY=<uuid>] \
//   node frontend/e2e/dashboard-render.mjs
//
// Last stdout line: {"periods": {"1m": {"runs": [ms…], "first": ms, "median": ms, "max": ms}}, "worst": ms}
// The first run of the first period includes loading the dashboard's code; later ones run warm.
import { log, loginViaUi, scenario } from './_lib.mjs';
import { timeDashboardRender } from './dashboard-helpers.mjs';

const USER = { username: process.env.E2E_USERNAME, password: process.env.E2E_PASSWORD };
const PERIODS = (process.env.E2E_PERIODS ?? '1w,1m,all').split(',').filter(Boolean);
const RUNS = Number(process.env.E2E_RUNS ?? 5);
const FACILITY = process.env.E2E_FACILITY ?? '';

const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle] : Math.round((sorted[middle - 1] + sorted[middle]) / 2);
};

await scenario(async (t) => {
  if (!USER.username || !USER.password) throw new Error('E2E_USERNAME and E2E_PASSWORD are required');
  const { context } = await t.launch();
  const page = await context.newPage();
  await loginViaUi(page, USER, { landing: null });
  const periods = {};
  for (const period of PERIODS) {
    const runs = [];
    for (let run = 0; run < RUNS; run += 1) runs.push(await timeDashboardRender(page, period, { facility: FACILITY }));
    periods[period] = { runs, first: runs[0], median: median(runs), max: Math.max(...runs) };
    log(`dashboard ${period}: ${runs.join(', ')} ms`);
  }
  return { periods, worst: Math.max(...Object.values(periods).map((p) => p.max)) };
});
