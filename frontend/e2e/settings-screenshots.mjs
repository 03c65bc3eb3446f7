// Screenshots of the account settings screens at a phone and a desktop viewport (E2E_ARTIFACTS).
import { readFileSync } from 'node:fs';

import { artifact, assert, DESKTOP, isPng, loginViaUi, log, newUser, PHONE, registerViaApi, scenario } from './_lib.mjs';

const SCREENS = [
  ['profile', '/settings/profile', 'Profile'],
  ['security', '/settings/security', 'Two-factor authentication'],
  ['sessions', '/settings/sessions', 'Sessions'],
  ['data', '/settings/data', 'My data'],
];

async function shoot(page, name, label, viewport, shots) {
  const file = artifact(`settings-${name}-${label}.png`);
  await page.screenshot({ path: file, fullPage: true });
  const png = readFileSync(file);
  assert(isPng(png), `${file} is not a PNG`);
  const scrollWidth = await page.evaluate(() => document.documentElement.scrollWidth);
  assert(scrollWidth <= viewport.width, `${name} at ${label}: the page scrolls sideways (${scrollWidth}px)`);
  shots.push({ screen: name, label, file, width: viewport.width, bytes: png.length });
}

await scenario(async (t) => {
  const user = await registerViaApi(newUser('setshots'));
  const shots = [];
  for (const [label, viewport, options] of [
    ['phone', PHONE, { isMobile: true, hasTouch: true, deviceScaleFactor: 1 }],
    ['desktop', DESKTOP, {}],
  ]) {
    const handle = await t.launch({ viewport, ...options });
    const page = await handle.context.newPage();
    await loginViaUi(page, user);
    for (const [name, path, heading] of SCREENS) {
      log(`${name} at ${label}`);
      await page.goto(path);
      await page.getByRole('heading', { name: heading, level: 2 }).waitFor();
      if (name === 'sessions') await page.locator('li.session-item').first().waitFor();
      if (name === 'security') await page.locator('.mfa-status').waitFor();
      await shoot(page, name, label, viewport, shots);
    }
    log(`2FA enrolment at ${label}`);
    await page.goto('/settings/security');
    await page.getByRole('button', { name: 'Set up two-factor authentication' }).click();
    await page.locator('img.qr-code').waitFor();
    await page.waitForFunction(() => document.querySelector('img.qr-code')?.naturalWidth > 0);
    await shoot(page, 'security-enrolment', label, viewport, shots);
    await handle.close();
  }
  return { shots };
});
