// A clinician signed in on the notifications page sees a radiologist's report changes live
// (no reload): the unread count and the notification; a change made while the browser is
// offline is replayed when it comes back (new ticket, after=<last id>); the reply form, the
// READY report and its PDF download (saved from a Blob, starts with %PDF).
import { readFileSync } from 'node:fs';

import { BASE_URL, artifact, assert, loginViaUi, scenario, sleep } from './_lib.mjs';

const clinician = { username: process.env.E2E_CLINICIAN, password: process.env.E2E_PASSWORD };
const radiologist = { username: process.env.E2E_RADIOLOGIST, password: process.env.E2E_PASSWORD };
const reportId = process.env.E2E_REPORT_ID;

async function api(token, method, path, body) {
  const response = await fetch(`${BASE_URL}${path}`, {
    method,
    headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json', Accept: 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  assert(response.ok, `${method} ${path} answered ${response.status}: ${text}`);
  return text ? JSON.parse(text) : null;
}

async function radiologistToken() {
  const response = await fetch(`${BASE_URL}/api/auth/login`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ login: radiologist.username, password: radiologist.password }),
  });
  const body = await response.json();
  assert(response.ok && body.access_token, `radiologist login answered ${response.status}`);
  return body.access_token;
}

const bell = (page) => page.getByRole('navigation', { name: 'Main' }).locator('a.notification-bell');
const unread = async (page) => Number(await bell(page).getAttribute('data-unread'));

async function waitFor(check, message, timeoutMs = 15_000) {
  const until = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > until) throw new Error(`timed out: ${message}`);
    await sleep(100);
  }
}

await scenario(async (t) => {
  const token = await radiologistToken();
  const { context } = await t.launch();
  const page = await context.newPage();
  const streamUrls = [];
  page.on('request', (request) => {
    if (request.url().includes('/api/notifications/stream?')) streamUrls.push(request.url());
  });
  await loginViaUi(page, clinician);
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Reports' }).click();
  await page.waitForURL((url) => url.pathname === '/reports');
  const item = page.locator(`li.report-item[data-report-id="${reportId}"]`);
  await item.waitFor();
  assert((await item.getAttribute('data-status')) === 'ASSIGNED', 'the new report is ASSIGNED');
  await waitFor(async () => (await bell(page).getAttribute('data-stream')) === 'open', 'the stream opens');
  // Marks the document: a reload or a full navigation would lose it.
  await page.evaluate(() => {
    window.__noReload = true;
  });
  const before = await unread(page);

  // 1. Live: the radiologist starts reporting → the list shows it without a reload.
  await api(token, 'POST', `/api/reports/${reportId}/status`, { status: 'PENDING' });
  await page.locator(`li.report-item[data-report-id="${reportId}"][data-status="PENDING"]`).waitFor({ timeout: 15_000 });

  // 2. Offline while the radiologist asks for more data; back online → replayed via after=.
  await context.setOffline(true);
  await waitFor(async () => (await bell(page).getAttribute('data-stream')) === 'offline', 'the stream pauses');
  await api(token, 'POST', `/api/reports/${reportId}/status`, {
    status: 'ADDITIONAL_DATA_REQUIRED',
    message: 'Please send the lateral view.',
  });
  await sleep(1500);
  const urlsBeforeOnline = streamUrls.length;
  await context.setOffline(false);
  await waitFor(
    async () => (await page.getByRole('status').filter({ hasText: 'Radiology needs more information' }).count()) > 0,
    'the missed notification is announced (replayed through the stream)',
  );
  await page
    .locator(`li.report-item[data-report-id="${reportId}"][data-status="ADDITIONAL_DATA_REQUIRED"]`)
    .waitFor({ timeout: 15_000 });
  await waitFor(async () => (await unread(page)) === before + 1, `unread count ${before} → ${before + 1}`);
  const replayUrl = streamUrls.slice(urlsBeforeOnline).find((url) => url.includes('after='));
  assert(replayUrl, `no reconnect with after=: ${JSON.stringify(streamUrls)}`);
  const tickets = new Set(streamUrls.map((url) => new URL(url).searchParams.get('ticket')));
  assert(tickets.size === streamUrls.length, 'a stream ticket was used twice');
  assert(await page.evaluate(() => window.__noReload === true), 'the page was reloaded');
  await page.screenshot({ path: artifact('reports-replayed.png'), fullPage: true });

  await bell(page).click();
  await page.waitForURL((url) => url.pathname === '/notifications');
  const list = page.getByRole('list', { name: 'Notifications' });
  await list.locator('li[data-type="additional_data_required"]').first().waitFor({ timeout: 15_000 });

  // 3. The clinician answers from the report page.
  await list
    .locator('li[data-type="additional_data_required"]')
    .first()
    .getByRole('link', { name: 'Radiology needs more information' })
    .click();
  await page.waitForURL((url) => url.pathname === `/reports/${reportId}`);
  await page.getByText('Please send the lateral view.', { exact: true }).waitFor();
  await page.getByLabel('Your reply').fill('Lateral view sent as a new upload.');
  await page.getByRole('button', { name: 'Send reply' }).click();
  await page.locator('[data-status="PENDING"]').first().waitFor({ timeout: 15_000 });
  await page.getByText('Lateral view sent as a new upload.', { exact: true }).waitFor();

  // 4. Live: the radiologist makes it READY while the clinician watches the notifications page.
  await bell(page).click();
  await page.waitForURL((url) => url.pathname === '/notifications');
  await waitFor(async () => (await bell(page).getAttribute('data-stream')) === 'open', 'the stream is open');
  const beforeReady = await unread(page);
  await api(token, 'PATCH', `/api/reports/${reportId}`, {
    findings: 'No acute abnormality.',
    impression: 'Normal study.',
  });
  const sentAt = Date.now();
  await api(token, 'POST', `/api/reports/${reportId}/status`, { status: 'READY' });
  const ready = list.locator('li[data-type="report_ready"]').first();
  await ready.waitFor({ timeout: 15_000 });
  const liveMs = Date.now() - sentAt;
  await waitFor(async () => (await unread(page)) === beforeReady + 1, `unread count ${beforeReady} → ${beforeReady + 1}`);
  const label = await bell(page).getAttribute('aria-label');
  assert(label === `Notifications, ${beforeReady + 1} unread`, `bell label: ${label}`);
  assert(await page.evaluate(() => window.__noReload === true), 'the page was reloaded');
  await page.screenshot({ path: artifact('notifications-live.png'), fullPage: true });

  // 5. The report: READY, impression, and the PDF.
  await ready.getByRole('link', { name: 'Report ready' }).click();
  await page.waitForURL((url) => url.pathname === `/reports/${reportId}`);
  await page.locator('[data-status="READY"]').first().waitFor();
  await page.getByText('Normal study.', { exact: true }).waitFor();
  const [download] = await Promise.all([
    page.waitForEvent('download'),
    page.getByRole('button', { name: 'Download PDF' }).click(),
  ]);
  const pdfPath = artifact('report.pdf');
  await download.saveAs(pdfPath);
  const pdf = readFileSync(pdfPath);
  assert(download.url().startsWith('blob:'), `downloaded from ${download.url()}`);
  assert(!download.url().includes('token'), 'a token in the download URL');
  await page.screenshot({ path: artifact('report-ready.png'), fullPage: true });
  // Opening a notification marks it read.
  await waitFor(async () => (await unread(page)) === beforeReady, 'the opened notification is read');

  return {
    before,
    after: beforeReady + 1,
    liveMs,
    streamConnections: streamUrls.length,
    replayAfter: new URL(replayUrl).searchParams.get('after'),
    pdfMagic: pdf.subarray(0, 5).toString('latin1'),
    pdfBytes: pdf.length,
    filename: download.suggestedFilename(),
  };
});
