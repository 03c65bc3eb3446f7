// An installed PWA stays signed in across a browser restart (refresh token in IndexedDB), and
// signing out ends the session for good (a restart then lands on the sign-in page).
import { assert, loginViaUi, log, newProfileDir, newUser, registerViaApi, scenario } from './_lib.mjs';

await scenario(async (t) => {
  const user = await registerViaApi(newUser('restart'));
  const profileDir = newProfileDir('restart');

  log('sign in, then close the browser');
  let handle = await t.launch({ profileDir });
  let page = handle.context.pages()[0] ?? (await handle.context.newPage());
  await loginViaUi(page, user);
  const tokenInUrl = page.url().includes('token');
  await handle.close();

  log('reopen: still signed in');
  handle = await t.launch({ profileDir });
  page = handle.context.pages()[0] ?? (await handle.context.newPage());
  await page.goto('/history');
  await page.getByRole('heading', { name: 'Upload history' }).waitFor({ timeout: 20_000 });
  const afterRestart = new URL(page.url()).pathname;
  const storage = await page.evaluate(() => JSON.stringify(localStorage) + document.cookie);
  assert(!/eyJ[A-Za-z0-9_-]{10,}/.test(storage), 'a token is kept in localStorage or a cookie');

  log('sign out, reopen: signed out');
  await page.getByRole('button', { name: /Sign out/ }).click();
  await page.getByRole('heading', { name: 'Sign in' }).waitFor();
  await handle.close();
  handle = await t.launch({ profileDir });
  page = handle.context.pages()[0] ?? (await handle.context.newPage());
  await page.goto('/upload');
  await page.getByRole('heading', { name: 'Sign in' }).waitFor({ timeout: 20_000 });
  const afterSignOut = new URL(page.url()).pathname;
  await handle.close();

  return { afterRestart, afterSignOut, tokenInUrl };
});
