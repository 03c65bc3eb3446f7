// Issue 14, admin console (2): a radiographer asked for a facility's access; until an admin
// approves it in the UI they see only their own reports, then (signed in again, as the
// approval ends their sessions) the facility's reports.
import { assert, DESKTOP, log, loginViaUi, scenario } from './_lib.mjs';
import { account, openAdminConsole, openUser } from './admin-helpers.mjs';

async function reportIds(page) {
  await page.goto('/reports');
  await page.getByRole('heading', { level: 1, name: 'Reports' }).waitFor();
  await page.waitForLoadState('networkidle');
  return page.locator('[data-report-id]').evaluateAll((items) => items.map((item) => item.dataset.reportId));
}

await scenario(async (t) => {
  const admin = account(process.env.E2E_ADMIN);
  const radiographer = account(process.env.E2E_RADIOGRAPHER);
  const facility = process.env.E2E_FACILITY;

  const own = await t.launch({ viewport: DESKTOP });
  const radPage = await own.context.newPage();
  await loginViaUi(radPage, radiographer);
  const notice = await radPage.getByText(/is waiting for an administrator/).textContent();
  const before = await reportIds(radPage);

  log('the admin approves the pending membership');
  const { context } = await t.launch({ viewport: DESKTOP });
  const page = await context.newPage();
  await openAdminConsole(page, admin);
  await page.getByLabel('Pending approval only').check();
  await page.waitForURL((url) => url.searchParams.get('pending') === 'true');
  await page.getByRole('link', { name: radiographer.username, exact: true }).waitFor();
  await openUser(page, radiographer.username);
  const request = await page.getByRole('region', { name: 'Pending facility membership' }).textContent();
  await page.getByRole('button', { name: 'Approve membership' }).click();
  await page.getByText('The membership was approved.').waitFor();
  const facilityShown = await page.getByLabel('Facility', { exact: true }).locator('option:checked').textContent();

  log('the radiographer signs in again and sees the facility reports');
  await radPage.goto('/reports');
  const signedOut = await radPage
    .waitForURL((url) => url.pathname === '/login', { timeout: 20_000 })
    .then(
      () => true,
      () => false,
    );
  if (signedOut) await loginViaUi(radPage, radiographer, { landing: null });
  const after = await reportIds(radPage);
  assert(after.length > before.length, `still ${after.length} reports after the approval`);
  const facilityText = await radPage.locator('[data-report-id]').first().textContent();
  return { notice, before, after, request, facilityShown, signedOut, facilityInList: facilityText.includes(facility) };
});
