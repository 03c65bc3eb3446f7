// Issue 14, admin console (3): an admin disables a user in the UI and that user's open
// session (another browser) is signed out without touching it; they cannot sign in again.
import { assert, DESKTOP, log, loginViaUi, scenario } from './_lib.mjs';
import { account, openAdminConsole, openUser } from './admin-helpers.mjs';

await scenario(async (t) => {
  const admin = account(process.env.E2E_ADMIN);
  const victim = account(process.env.E2E_VICTIM);

  const theirs = await t.launch({ viewport: DESKTOP });
  const victimPage = await theirs.context.newPage();
  await loginViaUi(victimPage, victim);

  const { context } = await t.launch({ viewport: DESKTOP });
  const page = await context.newPage();
  await openAdminConsole(page, admin);
  await openUser(page, victim.username);
  const sessionsBefore = await page.locator('section[aria-labelledby="sessions-title"] tbody tr').count();

  log('disable, confirmed');
  await page.getByRole('button', { name: 'Disable account' }).click();
  await page.getByRole('button', { name: `Yes, disable ${victim.username}` }).click();
  await page.getByText('The account was disabled.').waitFor();
  const disabledAt = Date.now();
  const status = await page.getByTestId('user-status').textContent();
  await page.getByTestId('no-sessions').waitFor();

  log('the open session is signed out by itself');
  await victimPage.waitForURL((url) => url.pathname === '/login', { timeout: 45_000 });
  const signedOutAfterMs = Date.now() - disabledAt;

  await victimPage.getByLabel('Username or email').fill(victim.username);
  await victimPage.getByLabel('Password', { exact: true }).fill(victim.password);
  await victimPage.getByRole('button', { name: 'Sign in' }).click();
  const refusal = await victimPage.getByRole('alert').textContent();
  assert(new URL(victimPage.url()).pathname === '/login', 'a disabled user signed in');
  return { sessionsBefore, status, signedOutAfterMs, refusal };
});
