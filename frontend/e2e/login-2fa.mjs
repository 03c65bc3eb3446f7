// Sign-in with two-step verification against the real backend: a TOTP code, then a backup code,
// and a reused backup code is refused.
import { createHmac } from 'node:crypto';

import { assert, BASE_URL, log, newUser, registerViaApi, scenario } from './_lib.mjs';

function base32(secret) {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = '';
  for (const char of secret.replace(/=+$/, '').toUpperCase()) {
    bits += alphabet.indexOf(char).toString(2).padStart(5, '0');
  }
  const bytes = [];
  for (let i = 0; i + 8 <= bits.length; i += 8) bytes.push(parseInt(bits.slice(i, i + 8), 2));
  return Buffer.from(bytes);
}

function totp(secret, step) {
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(step));
  const mac = createHmac('sha1', base32(secret)).update(counter).digest();
  const offset = mac[mac.length - 1] & 0x0f;
  const value = (mac.readUInt32BE(offset) & 0x7fffffff) % 1_000_000;
  return String(value).padStart(6, '0');
}

async function api(path, { token, body } = {}) {
  const response = await fetch(`${BASE_URL}${path}`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', ...(token ? { Authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify(body ?? {}),
  });
  const text = await response.text();
  assert(response.ok, `${path} answered ${response.status}: ${text}`);
  return text ? JSON.parse(text) : null;
}

async function passwordStep(page, user) {
  await page.goto('/login');
  await page.getByLabel('Username or email').fill(user.username);
  await page.getByLabel('Password', { exact: true }).fill(user.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { name: 'Two-step verification' }).waitFor();
}

await scenario(async (t) => {
  const user = await registerViaApi(newUser('mfa'));
  log('turn on 2FA through the API');
  const { access_token: token } = await api('/api/auth/login', { body: { login: user.username, password: user.password } });
  const { secret } = await api('/api/auth/2fa/setup', { token });
  const step = Math.floor(Date.now() / 1000 / 30);
  const { backup_codes: backupCodes } = await api('/api/auth/2fa/enable', { token, body: { code: totp(secret, step) } });
  assert(backupCodes.length > 0, 'no backup codes');

  const { context } = await t.launch();
  const page = await context.newPage();

  log('password, then a TOTP code');
  await passwordStep(page, user);
  await page.getByLabel('Authentication code').fill(totp(secret, step + 1)); // next step: within ±1
  await page.getByRole('button', { name: 'Verify' }).click();
  await page.waitForURL((url) => url.pathname === '/upload', { timeout: 20_000 });

  log('sign out; password, then a backup code');
  await page.getByRole('button', { name: /Sign out/ }).click();
  await passwordStep(page, user);
  await page.getByLabel('Authentication code').fill(backupCodes[0]);
  await page.getByRole('button', { name: 'Verify' }).click();
  await page.waitForURL((url) => url.pathname === '/upload', { timeout: 20_000 });

  log('the same backup code a second time is refused');
  await page.getByRole('button', { name: /Sign out/ }).click();
  await passwordStep(page, user);
  await page.getByLabel('Authentication code').fill(backupCodes[0]);
  await page.getByRole('button', { name: 'Verify' }).click();
  const refusal = await page.getByRole('alert').textContent({ timeout: 20_000 });
  const stayed = new URL(page.url()).pathname;

  return { totp: 'accepted', backup: 'accepted', reuse: { refusal, path: stayed } };
});
