// Keyboard and labels on the account settings screens: every control has an accessible name,
// Tab reaches every control on the page, and each shows a visible focus ring when reached.
import { assert, loginViaUi, log, newUser, PHONE, registerViaApi, scenario } from './_lib.mjs';
import { unnamedControls } from './a11y-helpers.mjs';

const SCREENS = [
  ['/settings/profile', 'Profile'],
  ['/settings/security', 'Two-factor authentication'],
  ['/settings/sessions', 'Sessions'],
  ['/settings/data', 'My data'],
];

/** Tab from the top of the page until focus comes round again; every stop must show its focus. */
async function tabThrough(page) {
  await page.evaluate(() => {
    document.activeElement?.blur();
    window.scrollTo(0, 0);
  });
  const stops = [];
  const noRing = [];
  for (let i = 0; i < 150; i += 1) {
    await page.keyboard.press('Tab');
    const stop = await page.evaluate((index) => {
      const el = document.activeElement;
      if (!el || el === document.body) return null;
      el.dataset.kbd ??= String(index);
      const style = getComputedStyle(el);
      return {
        id: el.dataset.kbd,
        what: `${el.tagName.toLowerCase()} ${(el.getAttribute('aria-label') ?? el.textContent ?? el.getAttribute('name') ?? '').trim().slice(0, 50)}`,
        ring: el.matches(':focus-visible') && style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) >= 2,
      };
    }, i);
    if (!stop) continue;
    if (stops.some((seen) => seen.id === stop.id)) break; // came round
    stops.push(stop);
    if (!stop.ring) noRing.push(stop.what);
  }
  const missed = await page.evaluate(() =>
    [...document.querySelectorAll('main input, main select, main textarea, main button, main a[href]')]
      .filter((el) => !el.disabled && el.getClientRects().length > 0 && el.dataset.kbd === undefined)
      .map((el) => el.outerHTML.slice(0, 120)),
  );
  return { stops: stops.length, noRing, missed };
}

async function check(page, label, result) {
  const unnamed = await unnamedControls(page, { within: 'main' });
  assert(unnamed.length === 0, `${label}: controls without an accessible name: ${unnamed.join(' | ')}`);
  const { stops, noRing, missed } = await tabThrough(page);
  assert(noRing.length === 0, `${label}: no visible focus on ${noRing.join(' | ')}`);
  assert(missed.length === 0, `${label}: Tab never reaches ${missed.join(' | ')}`);
  result[label] = { named: true, tabStops: stops };
}

await scenario(async (t) => {
  const user = await registerViaApi(newUser('setkbd'));
  const { context } = await t.launch({ viewport: PHONE });
  const page = await context.newPage();
  await loginViaUi(page, user);
  const result = {};

  for (const [path, heading] of SCREENS) {
    log(`keyboard on ${path}`);
    await page.goto(path);
    await page.getByRole('heading', { name: heading, level: 2 }).waitFor();
    if (path.endsWith('sessions')) await page.locator('li.session-item').first().waitFor();
    if (path.endsWith('security')) await page.locator('.mfa-status').waitFor();
    await check(page, path, result);
  }

  log('the 2FA enrolment form, opened with the keyboard');
  await page.goto('/settings/security');
  const setUp = page.getByRole('button', { name: 'Set up two-factor authentication' });
  await setUp.focus();
  await page.keyboard.press('Enter');
  await page.getByLabel('Code from the app').waitFor();
  await check(page, '/settings/security (enrolment)', result);

  log('the section menu works from the keyboard');
  await page.goto('/settings/profile');
  await page.getByRole('heading', { name: 'Profile', level: 2 }).waitFor();
  await page.getByRole('navigation', { name: 'Settings' }).getByRole('link', { name: 'Sessions' }).focus();
  await page.keyboard.press('Enter');
  await page.getByRole('heading', { name: 'Sessions', level: 2 }).waitFor();
  const focusAfterNavigation = await page.evaluate(() => document.activeElement?.id);

  return { screens: result, focusAfterNavigation };
});
