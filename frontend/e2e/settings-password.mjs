// Settings → Password: change it (the live strength meter lets a strong one through), every
// session ends, and the user signs in again with the new password; the old one is refused.
import { assert, loginViaUi, log, newUser, registerViaApi, scenario } from './_lib.mjs';
import { openSettings } from './settings-helpers.mjs';

await scenario(async (t) => {
  const user = await registerViaApi(newUser('pw'));
  const { context } = await t.launch();
  const page = await context.newPage();
  await loginViaUi(page, user);
  await openSettings(page, 'Password and 2FA');

  log('a weak new password is held back by the meter');
  await page.getByLabel('Current password').fill(user.password);
  const newPassword = page.getByLabel('New password', { exact: true });
  await newPassword.fill('password1234');
  await page.getByText(/Very weak|Weak|Fair/).first().waitFor();
  const weakDisabled = await page.getByRole('button', { name: 'Change password' }).isDisabled();

  log('the server gives its reason for a wrong current password');
  const fresh = `${user.password}-new-Quokka!`;
  await newPassword.fill(fresh);
  await page.getByText(/good to go/).waitFor();
  await page.getByLabel('Current password').fill('not my password at all');
  await page.getByRole('button', { name: 'Change password' }).click();
  const wrongCurrent = await page.getByText('The current password is wrong.').textContent();

  log('change it');
  await page.getByLabel('Current password').fill(user.password);
  await page.getByRole('button', { name: 'Change password' }).click();
  await page.waitForURL((url) => url.pathname === '/login', { timeout: 20_000 });
  const notice = await page.getByText(/Your password was changed/).textContent();

  log('the old password no longer works');
  await page.getByLabel('Username or email').fill(user.username);
  await page.getByLabel('Password', { exact: true }).fill(user.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  const refusal = await page.getByRole('alert').textContent();
  assert(new URL(page.url()).pathname === '/login', 'signed in with the old password');

  log('the new one does');
  await loginViaUi(page, { ...user, password: fresh });

  return { weakDisabled, wrongCurrent, notice, oldPasswordRefused: Boolean(refusal), signedInWithNew: new URL(page.url()).pathname };
});
