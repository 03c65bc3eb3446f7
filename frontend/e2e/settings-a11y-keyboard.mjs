// Accessibility of the Settings screens of this device (preferences, notifications, this device):
// every control has an accessible name, each is reached with Tab and shows a visible focus ring,
// and the "Clear local data" confirmation is operated by keyboard alone (Escape and Cancel keep
// everything; focus returns to the button).
import { PHONE, assert, log, loginViaUi, newUser, registerViaApi, scenario } from './_lib.mjs';
import { unnamedControls } from './a11y-helpers.mjs';

async function focused(page) {
  return page.evaluate(() => {
    const el = document.activeElement;
    if (!el || el === document.body) return null;
    const style = getComputedStyle(el);
    const label = el.getAttribute('aria-label') ?? el.labels?.[0]?.textContent ?? el.textContent ?? '';
    return {
      tag: el.tagName,
      label: label.trim().replace(/\s+/g, ' ').slice(0, 60),
      inMain: Boolean(el.closest('main')),
      visible: el.matches(':focus-visible') && style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) >= 2,
    };
  });
}

/** Tab through the page; every stop shows its focus; returns the labels reached inside main. */
async function tabThrough(page, limit = 60) {
  const reached = [];
  for (let i = 0; i < limit; i += 1) {
    await page.keyboard.press('Tab');
    const ring = await focused(page);
    if (!ring) continue;
    assert(ring.visible, `no visible focus ring on ${ring.tag} "${ring.label}"`);
    if (ring.inMain) reached.push(ring.label);
  }
  return reached;
}

await scenario(async (t) => {
  const user = await registerViaApi(newUser('setkeys'));
  const { context } = await t.launch({ viewport: PHONE });
  const page = await context.newPage();
  await loginViaUi(page, user);
  const result = {};

  for (const [path, heading] of [
    ['/settings/preferences', 'Upload preferences'],
    ['/settings/notifications', 'Notifications'],
    ['/settings/device', 'This device'],
  ]) {
    log(path);
    await page.goto(path);
    await page.getByRole('heading', { name: heading, exact: true, level: 2 }).waitFor();
    await page.locator('main input, main button').first().waitFor();
    const unnamed = await unnamedControls(page, { within: 'main' });
    assert(unnamed.length === 0, `${path}: controls without an accessible name: ${unnamed.join(' | ')}`);
    result[path] = { reached: await tabThrough(page) };
  }

  log('the chunk size is reached by keyboard: open "Advanced" with Enter');
  await page.goto('/settings/preferences');
  await page.getByText('Advanced: chunk size').focus();
  await page.keyboard.press('Enter');
  await page.keyboard.press('Tab');
  result.chunkSizeFocus = (await focused(page))?.label ?? null;

  log('the clear-data confirmation by keyboard');
  await page.goto('/settings/device');
  const clear = page.getByRole('button', { name: 'Clear local data…' });
  await clear.focus();
  await page.keyboard.press('Enter');
  await page.getByRole('alertdialog').waitFor();
  await page.getByRole('button', { name: 'Cancel' }).and(page.locator(':focus')).waitFor();
  result.dialogFocus = (await focused(page))?.label ?? null;
  await page.keyboard.press('Escape');
  await page.getByRole('alertdialog').waitFor({ state: 'detached' });
  result.afterEscape = (await focused(page))?.label ?? null;
  await page.keyboard.press('Enter');
  await page.getByRole('alertdialog').waitFor();
  await page.getByRole('button', { name: 'Cancel' }).and(page.locator(':focus')).waitFor();
  await page.keyboard.press('Enter'); // Cancel has the focus
  await page.getByRole('alertdialog').waitFor({ state: 'detached' });
  result.afterCancel = (await focused(page))?.label ?? null;
  return result;
});
