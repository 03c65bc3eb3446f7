// The dashboard against the real API (tests/e2e/test_dashboard.py seeds the uploads): the four
// figures on screen equal GET /api/upload/stats for every period and for a facility, the daily
// chart's tooltip answers the keyboard, the CSV export downloads with the token in a header,
// offline keeps the last figures with the cached badge, a clinician sees their own scope without
// admin tools, and screenshots at phone and desktop sizes (no sideways scrolling down to 360 px).
import { readFileSync } from 'node:fs';

import { artifact, assert, BASE_URL, DESKTOP, isPng, log, loginViaUi, PHONE, scenario, sleep } from './_lib.mjs';
import { dashboardRendered, expectedFigures, readFigures, timeDashboardRender } from './dashboard-helpers.mjs';

const PASSWORD = process.env.E2E_PASSWORD;
const ADMIN = { username: process.env.E2E_ADMIN, password: PASSWORD };
const CLINICIAN = { username: process.env.E2E_CLINICIAN, password: PASSWORD };
const FACILITY_ID = process.env.E2E_FACILITY_ID;
const CSV_HEADER = 'date,facility,modality,service_level,outcome,uploads,bytes';
const PERIODS = [
  ['1M', '1m'],
  ['1W', '1w'],
  ['2W', '2w'],
  ['3M', '3m'],
  ['6M', '6m'],
  ['ALL', 'all'],
];

async function apiToken(user) {
  const response = await fetch(`${BASE_URL}/api/auth/login`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ login: user.username, password: user.password }),
  });
  assert(response.ok, `API login of ${user.username}: ${response.status}`);
  return (await response.json()).access_token;
}

function statsApi(token, tz) {
  return async (params) => {
    const response = await fetch(`${BASE_URL}/api/upload/stats?${new URLSearchParams({ tz, ...params })}`, {
      headers: { Authorization: `Bearer ${token}` },
    });
    if (!response.ok) throw new Error(`stats ${JSON.stringify(params)}: ${response.status} ${await response.text()}`);
    return response.json();
  };
}

async function waitRendered(page, period) {
  await page.waitForFunction(`(${dashboardRendered.toString()})(${JSON.stringify(period)})`, null, { timeout: 20_000 });
}

/** Poll the cards until they show `expected` (a refresh or a filter change lands asynchronously). */
async function expectFigures(page, expected, what) {
  const deadline = Date.now() + 15_000;
  for (;;) {
    const shown = await readFigures(page);
    if (JSON.stringify(shown) === JSON.stringify(expected)) return shown;
    if (Date.now() > deadline) throw new Error(`${what}: the cards show ${JSON.stringify(shown)}, the API ${JSON.stringify(expected)}`);
    await sleep(100);
  }
}

/** RFC 4180 rows (quoted fields, doubled quotes, CRLF or LF). */
function parseCsv(text) {
  const rows = [];
  let row = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i += 1) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i += 1;
      } else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      row.push(field);
      field = '';
    } else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') i += 1;
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
    } else field += c;
  }
  if (field || row.length) rows.push([...row, field]);
  return rows;
}

async function noSidewaysScroll(page, label) {
  const width = await page.evaluate(() => document.documentElement.scrollWidth);
  const viewport = page.viewportSize().width;
  assert(width <= viewport, `${label}: the dashboard scrolls sideways (${width}px in ${viewport}px)`);
}

await scenario(async (t) => {
  const result = { periods: {} };

  // --- the admin: lands on the dashboard ---------------------------------------------------
  const admin = await t.launch({ acceptDownloads: true });
  const page = await admin.context.newPage();
  const exportRequests = [];
  page.on('request', (request) => {
    if (request.url().includes('/api/upload/stats/export')) {
      // The scheme and whether a token follows, never the token itself (results are logged).
      const [scheme = '', token = ''] = (request.headers().authorization ?? '').split(' ');
      exportRequests.push({ url: request.url(), scheme, tokenChars: token.length });
    }
  });
  await loginViaUi(page, ADMIN, { landing: '/dashboard' });
  const tz = await page.evaluate(() => Intl.DateTimeFormat().resolvedOptions().timeZone);
  const adminStats = statsApi(await apiToken(ADMIN), tz);

  for (const [label, period] of PERIODS) {
    if (period !== '1m') await page.getByRole('button', { name: new RegExp(`^${label} `) }).click();
    await waitRendered(page, period);
    const stats = await adminStats({ period });
    const shown = await expectFigures(page, expectedFigures(stats), `admin ${period}`);
    const modalities = await page
      .getByRole('table', { name: 'Uploads by modality', includeHidden: true })
      .locator('tbody th')
      .allTextContents();
    assert(
      JSON.stringify(modalities) === JSON.stringify(stats.by_modality.map((row) => row.modality)),
      `${period}: modality table ${modalities} vs ${stats.by_modality.map((row) => row.modality)}`,
    );
    result.periods[period] = { shown, total_uploads: stats.total_uploads, success_rate: stats.success_rate };
    log(`admin ${period}: ${JSON.stringify(shown)}`);
  }
  assert(new URL(page.url()).searchParams.get('period') === 'all', `the URL keeps the period: ${page.url()}`);

  // --- one facility ------------------------------------------------------------------------
  await page.getByRole('button', { name: /^1M / }).click();
  await waitRendered(page, '1m');
  await page.getByLabel('Facility').selectOption(FACILITY_ID);
  const facilityStats = await adminStats({ period: '1m', facility: FACILITY_ID });
  result.facility = {
    shown: await expectFigures(page, expectedFigures(facilityStats), 'facility filter'),
    total_uploads: facilityStats.total_uploads,
  };
  await page.getByLabel('Facility').selectOption('');
  const allStats = await adminStats({ period: '1m' });
  await expectFigures(page, expectedFigures(allStats), 'all facilities again');

  // --- the daily chart's tooltip from the keyboard -----------------------------------------
  await page.getByRole('button', { name: '30 days' }).focus();
  let inChart = false;
  for (let i = 0; i < 6 && !inChart; i += 1) {
    await page.keyboard.press('Tab');
    inChart = await page.evaluate(() =>
      Boolean(document.activeElement?.closest('[aria-labelledby="daily-chart-title"] .recharts-wrapper')),
    );
  }
  assert(inChart, 'Tab does not reach the daily chart');
  await page.keyboard.press('ArrowLeft');
  const tooltip = page.locator('[aria-labelledby="daily-chart-title"] .recharts-tooltip-wrapper');
  await page.waitForFunction(
    () => /Uploads/.test(document.querySelector('[aria-labelledby="daily-chart-title"] .recharts-tooltip-wrapper')?.textContent ?? ''),
    null,
    { timeout: 5000 },
  );
  result.keyboardTooltip = (await tooltip.textContent()).trim();

  // --- CSV export --------------------------------------------------------------------------
  const [download] = await Promise.all([
    page.waitForEvent('download', { timeout: 20_000 }),
    page.getByRole('button', { name: 'Export CSV' }).click(),
  ]);
  const csvPath = artifact(download.suggestedFilename());
  await download.saveAs(csvPath);
  const text = readFileSync(csvPath, 'utf8');
  const rows = parseCsv(text);
  const header = rows[0].join(',');
  assert(header === CSV_HEADER, `CSV header ${JSON.stringify(header)}`);
  const data = rows.slice(1).filter((row) => row.length > 1);
  const uploads = data.reduce((sum, row) => sum + Number(row[5]), 0);
  result.csv = {
    filename: download.suggestedFilename(),
    path: csvPath,
    firstLine: text.split(/\r?\n/)[0],
    header,
    rows: data.length,
    columns: [...new Set(data.map((row) => row.length))],
    uploads,
    bytes: data.reduce((sum, row) => sum + Number(row[6]), 0),
    dates: data.map((row) => row[0]),
    outcomes: [...new Set(data.map((row) => row[4]))].sort(),
    total_uploads: allStats.total_uploads,
    volume_bytes: allStats.volume_bytes,
  };
  result.exportRequests = exportRequests;
  await page.getByText(`Saved ${download.suggestedFilename()}.`).waitFor();

  // --- render time (warm: the dashboard's code is loaded) ----------------------------------
  result.renderMs = await timeDashboardRender(page, '1m');

  // --- offline: the last figures stay, marked as cached ------------------------------------
  const before = await readFigures(page);
  await admin.context.setOffline(true);
  await page.getByText(/Viewing cached data/).waitFor();
  result.offline = { before, after: await readFigures(page) };
  assert(JSON.stringify(result.offline.after) === JSON.stringify(before), 'offline changed the figures');
  assert(await page.getByRole('button', { name: 'Export CSV' }).isDisabled(), 'Export CSV offline is enabled');
  await admin.context.setOffline(false);
  await page.getByText(/Viewing cached data/).waitFor({ state: 'detached' });
  await admin.close();

  // --- a clinician: their own uploads, no admin tools --------------------------------------
  const own = await t.launch();
  const clinicianPage = await own.context.newPage();
  await loginViaUi(clinicianPage, CLINICIAN);
  await clinicianPage.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Dashboard' }).click();
  await waitRendered(clinicianPage, '1m');
  const clinicianStats = await statsApi(await apiToken(CLINICIAN), tz)({ period: '1m' });
  result.clinician = {
    shown: await expectFigures(clinicianPage, expectedFigures(clinicianStats), 'clinician'),
    total_uploads: clinicianStats.total_uploads,
    exportButtons: await clinicianPage.getByRole('button', { name: 'Export CSV' }).count(),
    facilityFilters: await clinicianPage.getByLabel('Facility').count(),
  };
  await own.close();

  // --- screenshots, phone and desktop; no sideways scrolling down to 360 px -----------------
  result.shots = [];
  for (const [label, viewport, options] of [
    ['phone', PHONE, { isMobile: true, hasTouch: true, deviceScaleFactor: 1 }],
    ['narrow-360', { width: 360, height: 780 }, { isMobile: true, hasTouch: true, deviceScaleFactor: 1 }],
    ['desktop', DESKTOP, {}],
  ]) {
    const handle = await t.launch({ viewport, ...options });
    const shot = await handle.context.newPage();
    await loginViaUi(shot, ADMIN, { landing: '/dashboard' });
    await waitRendered(shot, '1m');
    await noSidewaysScroll(shot, label);
    const file = artifact(`dashboard-${label}.png`);
    await shot.screenshot({ path: file, fullPage: true });
    const png = readFileSync(file);
    assert(isPng(png), `${file} is not a PNG`);
    result.shots.push({ label, file, width: viewport.width, bytes: png.length });
    await handle.close();
  }
  return result;
});
