// Screenshots of the upload screen at a phone and a desktop viewport (written to E2E_ARTIFACTS).
import { readFileSync } from 'node:fs';

import { artifact, assert, DESKTOP, isPng, loginViaUi, log, newUser, PHONE, registerViaApi, scenario } from './_lib.mjs';

await scenario(async (t) => {
  const user = await registerViaApi(newUser('shots'));
  const shots = [];
  for (const [label, viewport, options] of [
    ['phone', PHONE, { isMobile: true, hasTouch: true, deviceScaleFactor: 1 }],
    ['desktop', DESKTOP, {}],
  ]) {
    log(`upload screen at ${label} ${viewport.width}x${viewport.height}`);
    const handle = await t.launch({ viewport, ...options });
    const page = await handle.context.newPage();
    await loginViaUi(page, user);
    await page.getByRole('button', { name: 'Upload now' }).waitFor();
    const file = artifact(`upload-${label}.png`);
    await page.screenshot({ path: file, fullPage: true });
    const png = readFileSync(file);
    assert(isPng(png), `${file} is not a PNG`);
    const scrollWidth = await page.evaluate(() => document.documentElement.scrollWidth);
    assert(scrollWidth <= viewport.width, `${label}: the page scrolls sideways (${scrollWidth}px)`);
    shots.push({ label, file, width: viewport.width, bytes: png.length });
    await handle.close();
  }
  return { shots };
});
