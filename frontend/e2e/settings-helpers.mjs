// Helpers for the account settings scenarios (settings-*.mjs).
import * as OTPAuth from 'otpauth';

/** The current (or `stepsAhead` later) code of a TOTP secret, as an authenticator app shows it. */
export function totpCode(secret, { stepsAhead = 0 } = {}) {
  const totp = new OTPAuth.TOTP({ secret: OTPAuth.Secret.fromBase32(secret), digits: 6, period: 30, algorithm: 'SHA1' });
  return totp.generate({ timestamp: Date.now() + stepsAhead * 30_000 });
}

/** Open a Settings section through the app's own navigation (Main → Settings → section). */
export async function openSettings(page, section) {
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Settings' }).click();
  await page.getByRole('heading', { name: 'Profile', level: 2 }).waitFor();
  if (section !== 'Profile') {
    await page.getByRole('navigation', { name: 'Settings' }).getByRole('link', { name: section }).click();
  }
}

/** Enrol in 2FA from Settings → Password and 2FA; returns { secret, backupCodes, qrRendered }. */
export async function enableTwoFactor(page) {
  await openSettings(page, 'Password and 2FA');
  await page.getByRole('button', { name: 'Set up two-factor authentication' }).click();
  const qr = page.getByRole('img', { name: /QR code/ });
  await qr.waitFor();
  // The server's SVG, drawn as an image (a data: URL), not parsed into the page.
  const qrRendered = await qr.evaluate(async (img) => {
    await img.decode().catch(() => {});
    return img.naturalWidth > 0 && img.src.startsWith('data:image/svg+xml');
  });
  const secretText = await page.getByLabel('Secret key for manual entry').textContent();
  const secret = secretText.replace(/\s/g, '');
  await page.getByLabel('Code from the app').fill(totpCode(secret));
  await page.getByRole('button', { name: 'Turn on two-factor authentication' }).click();
  const list = page.getByRole('list', { name: 'Backup codes' });
  await list.waitFor();
  const backupCodes = (await list.getByRole('listitem').allTextContents()).map((code) => code.trim());
  return { secret, backupCodes, qrRendered };
}
