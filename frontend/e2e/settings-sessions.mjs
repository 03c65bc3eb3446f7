// Settings → Sessions: a second browser signs in, the first sees both sessions ("this device"
// marked), signs the second one out, and the second browser is signed out by itself.
import { assert, loginViaUi, log, newUser, registerViaApi, scenario } from './_lib.mjs';
import { openSettings } from './settings-helpers.mjs';

await scenario(async (t) => {
  const user = await registerViaApi(newUser('sess'));
  const first = await t.launch();
  const here = await first.context.newPage();
  await loginViaUi(here, user);
  const second = await t.launch({ userAgent: 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36' });
  const there = await second.context.newPage();
  await loginViaUi(there, user);
  await there.goto('/history');
  await there.getByRole('heading', { name: 'Upload history' }).waitFor();

  log('the first browser lists both sessions');
  await openSettings(here, 'Sessions');
  const list = here.getByRole('list', { name: 'Active sessions' });
  await list.waitFor();
  const rows = list.locator('li.session-item');
  await here.waitForFunction(() => document.querySelectorAll('li.session-item').length === 2);
  const current = list.locator('li.session-item[data-current="true"]');
  const marked = await current.getByText('This device').count();
  const other = list.locator('li.session-item[data-current="false"]');
  const otherText = await other.textContent();

  log('sign the other session out');
  const revokedAt = Date.now();
  await other.getByRole('button', { name: /^Sign out / }).click();
  await here.getByText(/^Signed out /).waitFor();
  await here.waitForFunction(() => document.querySelectorAll('li.session-item').length === 1);

  log('the second browser is signed out without anyone touching it');
  await there.waitForURL((url) => url.pathname === '/login', { timeout: 60_000 });
  const signedOutAfterMs = Date.now() - revokedAt;
  assert((await rows.count()) === 1, 'the list did not shrink to this device');
  await here.reload();
  await here.locator('li.session-item[data-current="true"]').waitFor();
  const afterReload = { path: new URL(here.url()).pathname, sessions: await rows.count() };

  return {
    sessionsListed: 2,
    thisDeviceMarked: marked,
    otherShowsBrowser: /Chrome/.test(otherText ?? ''),
    otherShowsIp: /127\.0\.0\.1/.test(otherText ?? ''),
    secondBrowser: new URL(there.url()).pathname,
    signedOutAfterMs,
    firstBrowserAfterReload: afterReload,
  };
});
