// Settings → 2FA in the real app: enrol by reading the secret from the page and computing the code
// with a TOTP library, keep the backup codes (shown once, downloaded as .txt), sign out, then sign
// in with a code from the same secret.
import { readFile } from 'node:fs/promises';

import { artifact, assert, loginViaUi, log, newUser, registerViaApi, scenario } from './_lib.mjs';
import { enableTwoFactor, totpCode } from './settings-helpers.mjs';

await scenario(async (t) => {
  const user = await registerViaApi(newUser('set2fa'));
  const { context } = await t.launch({ acceptDownloads: true });
  const page = await context.newPage();
  await loginViaUi(page, user);

  log('enrol from Settings');
  const { secret, backupCodes, qrRendered } = await enableTwoFactor(page);
  assert(/^[A-Z2-7]{16,}$/.test(secret), `not a base32 secret: ${secret}`);
  assert(backupCodes.length === 10, `${backupCodes.length} backup codes`);

  log('download the backup codes as a text file');
  const [download] = await Promise.all([
    page.waitForEvent('download'),
    page.getByRole('button', { name: 'Download as text file' }).click(),
  ]);
  const saved = artifact(download.suggestedFilename());
  await download.saveAs(saved);
  const text = await readFile(saved, 'utf8');
  const codesInFile = backupCodes.filter((code) => text.includes(code)).length;

  await page.getByRole('button', { name: 'I have saved my codes' }).click();
  const status = page.locator('.mfa-status[data-mfa="on"]');
  await status.waitFor();
  const backupCodesLeft = Number(await status.getAttribute('data-backup-codes'));
  const codesStillShown = await page.getByText(backupCodes[0]).count();
  await page.reload();
  await page.locator('.mfa-status[data-mfa="on"]').waitFor();
  const codesAfterReload = await page.getByText(backupCodes[0]).count();

  log('sign out, then sign in with the password and a code');
  await page.getByRole('button', { name: /Sign out/ }).click();
  await page.waitForURL((url) => url.pathname === '/login');
  await page.getByLabel('Username or email').fill(user.username);
  await page.getByLabel('Password', { exact: true }).fill(user.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { name: 'Two-step verification' }).waitFor();
  // The enrolment used this time step's code; a code is accepted once, so use the next step's (±1 drift).
  await page.getByLabel('Authentication code').fill(totpCode(secret, { stepsAhead: 1 }));
  await page.getByRole('button', { name: 'Verify' }).click();
  // Signed in: back on a page of the app (the one the sign-out left, or the landing page).
  await page.waitForURL((url) => url.pathname !== '/login', { timeout: 20_000 });
  await page.getByRole('navigation', { name: 'Main' }).getByRole('button', { name: /Sign out/ }).waitFor();
  const signedInAt = new URL(page.url()).pathname;
  await page.goto('/settings/security');
  await page.locator('.mfa-status[data-mfa="on"]').waitFor();

  return {
    qrRendered,
    backupCodes: backupCodes.length,
    download: { name: download.suggestedFilename(), codesInFile },
    backupCodesLeft,
    codesStillShown,
    codesAfterReload,
    signedInWithCode: signedInAt,
  };
});
