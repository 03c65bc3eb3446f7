// The radiologist's worklist: STAT first by default, filters (unassigned CT) kept in the URL
// across a reload and the back button, "Assign to me" in one click, the report then listed
// under "Assigned to me"; offline, the cached copy of a view seen before. Screenshots at phone
// and desktop sizes; the list never overflows a phone.
import { artifact, assert, DESKTOP, log, loginViaUi, PHONE, scenario } from './_lib.mjs';

const PRIORITY = { STAT: 0, EMERGENCY: 1, ROUTINE: 2 };

const radiologist = { username: process.env.E2E_RADIOLOGIST, password: process.env.E2E_PASSWORD };
const target = process.env.E2E_TARGET_REPORT_ID;

async function rows(page) {
  return page.locator('li.report-item').evaluateAll((items) =>
    items.map((li) => ({
      id: li.dataset.reportId,
      level: li.dataset.serviceLevel,
      modality: li.dataset.modality,
      assigned: li.dataset.assigned,
    })),
  );
}

async function overflow(page) {
  return page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
}

await scenario(async (t) => {
  const { context } = await t.launch({ viewport: DESKTOP });
  const page = await context.newPage();
  const assignCalls = [];
  page.on('request', (request) => {
    if (request.method() === 'POST' && /\/api\/reports\/[^/]+\/assign$/.test(new URL(request.url()).pathname))
      assignCalls.push(request.url());
  });

  await loginViaUi(page, radiologist, { landing: null });
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Reports' }).click();
  await page.getByRole('heading', { name: 'Worklist' }).waitFor();
  await page.locator('li.report-item').first().waitFor();

  log('default: STAT first');
  const initial = await rows(page);
  const levels = initial.map((row) => PRIORITY[row.level]);
  assert(initial[0].level === 'STAT', `first report is ${initial[0].level}`);
  assert(
    levels.every((value, i) => i === 0 || levels[i - 1] <= value),
    `not in reading order: ${initial.map((r) => r.level)}`,
  );
  const defaultSort = await page.getByLabel('Sort by').inputValue();

  log('filter to unassigned CT');
  await page.getByLabel('Assignment').selectOption('unassigned');
  await page.getByLabel('Modality').selectOption('CT');
  await page.waitForURL((url) => url.searchParams.get('assigned') === 'unassigned' && url.searchParams.get('modality') === 'CT');
  await page.waitForFunction(
    () =>
      [...document.querySelectorAll('li.report-item')].length > 0 &&
      [...document.querySelectorAll('li.report-item')].every(
        (li) => li.dataset.modality === 'CT' && li.dataset.assigned === 'none',
      ),
  );
  const unassignedCt = await rows(page);
  assert(unassignedCt.some((row) => row.id === target), 'the STAT CT report is not listed as unassigned CT');
  assert(unassignedCt[0].level === 'STAT', 'STAT is not first among unassigned CT');
  await page.screenshot({ path: artifact('worklist-desktop.png'), fullPage: true });

  log('a reload keeps the filters');
  await page.reload();
  await page.locator('li.report-item').first().waitFor();
  const afterReload = {
    assigned: await page.getByLabel('Assignment').inputValue(),
    modality: await page.getByLabel('Modality').inputValue(),
    rows: (await rows(page)).map((row) => row.id),
  };
  assert(afterReload.assigned === 'unassigned' && afterReload.modality === 'CT', `filters lost: ${JSON.stringify(afterReload)}`);

  log('assign the STAT report to me in one click');
  const row = page.locator(`li.report-item[data-report-id="${target}"]`);
  await row.getByRole('button', { name: 'Assign to me' }).click();
  await page.waitForSelector(`li.report-item[data-report-id="${target}"][data-assigned="me"]`, { timeout: 10_000 });
  const clicks = assignCalls.length;

  log('listed under "assigned to me"');
  await page.getByLabel('Assignment').selectOption('me');
  await page.waitForURL((url) => url.searchParams.get('assigned') === 'me');
  // The previous view's rows stay until the new page arrives: wait for the new answer.
  await page
    .waitForFunction(
      (id) => {
        const items = [...document.querySelectorAll('li.report-item')];
        return items.some((li) => li.dataset.reportId === id) && items.every((li) => li.dataset.assigned === 'me');
      },
      target,
      { timeout: 10_000 },
    )
    .catch(() => {});
  const mine = await rows(page);
  assert(mine.some((r) => r.id === target), 'the assigned report is not under "assigned to me"');
  assert(mine.every((r) => r.assigned === 'me'), `someone else's report under "assigned to me": ${JSON.stringify(mine)}`);

  log('back returns to the previous filters');
  await page.goBack();
  await page.waitForURL((url) => url.searchParams.get('assigned') === 'unassigned');
  const backAssigned = await page.getByLabel('Assignment').inputValue();

  log('phone size: no horizontal overflow');
  await page.setViewportSize(PHONE);
  await page.goForward();
  await page.waitForSelector(`li.report-item[data-report-id="${target}"]`);
  const phoneOverflow = await overflow(page);
  assert(phoneOverflow <= 0, `the worklist overflows a phone by ${phoneOverflow}px`);
  await page.screenshot({ path: artifact('worklist-phone.png'), fullPage: true });

  log('offline: the cached copy of a view seen before');
  await context.setOffline(true);
  await page.goBack();
  await page.getByText('Viewing cached data').waitFor({ timeout: 10_000 });
  const offlineRows = await rows(page);
  const offlineButtons = await page.getByRole('button', { name: 'Assign to me' }).evaluateAll((buttons) =>
    buttons.map((button) => button.disabled),
  );
  await context.setOffline(false);

  return {
    defaultSort,
    initialLevels: initial.map((r) => r.level),
    unassignedCt,
    afterReload,
    assignCalls: clicks,
    mine: mine.map((r) => r.id),
    backAssigned,
    phoneOverflow,
    offlineRows: offlineRows.length,
    offlineButtonsDisabled: offlineButtons.every(Boolean),
    shots: [
      { label: 'desktop', file: artifact('worklist-desktop.png') },
      { label: 'phone', file: artifact('worklist-phone.png') },
    ],
  };
});
