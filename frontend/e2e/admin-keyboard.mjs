// Accessibility of the admin console: every control on each admin screen has an accessible
// name, each is reachable with Tab and shows a visible focus ring, and a user is found and
// opened, and a facility created, with the keyboard alone (phone size).
import { assert, log, loginViaUi, PHONE, scenario } from './_lib.mjs';
import { unnamedControls } from './a11y-helpers.mjs';
import { account } from './admin-helpers.mjs';

/** Tab through the page; every enabled control inside <main> must be reached with a visible ring. */
async function tabThrough(page) {
  const expected = await page.evaluate(() => {
    const all = [...document.querySelectorAll('main input, main select, main textarea, main button, main a[href], main [tabindex="0"]')];
    const mark = all.filter((el) => !el.disabled && el.offsetParent !== null);
    mark.forEach((el, i) => el.setAttribute('data-kb', String(i)));
    return mark.length;
  });
  const seen = new Set();
  const noRing = [];
  for (let i = 0; i < expected + 40 && seen.size < expected; i += 1) {
    await page.keyboard.press('Tab');
    const state = await page.evaluate(() => {
      const el = document.activeElement;
      if (!el || el === document.body) return null;
      const style = getComputedStyle(el);
      return {
        kb: el.getAttribute('data-kb'),
        what: `${el.tagName} ${(el.getAttribute('aria-label') ?? el.textContent ?? el.id).trim().slice(0, 30)}`,
        // What the user sees: an outline of at least 2 px (or a focus shadow) on the focused control.
        ring: (style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) >= 2) || style.boxShadow !== 'none',
      };
    });
    if (!state || state.kb === null) continue;
    seen.add(state.kb);
    if (!state.ring) noRing.push(state.what);
  }
  return { expected, reached: seen.size, noRing };
}

await scenario(async (t) => {
  const admin = account(process.env.E2E_ADMIN);
  const target = process.env.E2E_TARGET;
  const { context } = await t.launch({ viewport: PHONE });
  const page = await context.newPage();
  await loginViaUi(page, admin, { landing: '/dashboard' });

  const screens = {};
  for (const [path, heading] of [
    ['/admin/users', 'Users'],
    ['/admin/facilities', 'Facilities'],
    ['/admin/audit', 'Audit log'],
    ['/admin/pacs', 'PACS'],
  ]) {
    await page.goto(path);
    await page.getByRole('heading', { level: 1, name: heading }).waitFor();
    await page.waitForLoadState('networkidle');
    const unnamed = await unnamedControls(page);
    assert(unnamed.length === 0, `${path}: controls without an accessible name: ${unnamed.join(' | ')}`);
    const tabbed = await tabThrough(page);
    assert(tabbed.reached === tabbed.expected, `${path}: Tab reached ${tabbed.reached} of ${tabbed.expected}`);
    assert(tabbed.noRing.length === 0, `${path}: no visible focus on ${tabbed.noRing.join(', ')}`);
    screens[path] = tabbed;
  }

  log('find and open a user with the keyboard');
  await page.goto('/admin/users');
  await page.getByLabel('Search').focus();
  await page.keyboard.type(target);
  await page.keyboard.press('Enter');
  await page.waitForURL((url) => url.searchParams.get('q') === target);
  await page.getByRole('link', { name: target, exact: true }).focus();
  await page.keyboard.press('Enter');
  await page.getByRole('heading', { name: 'Account' }).waitFor();
  const unnamedDetail = await unnamedControls(page);
  assert(unnamedDetail.length === 0, `user page: unnamed controls: ${unnamedDetail.join(' | ')}`);
  const detail = await tabThrough(page);
  assert(detail.reached === detail.expected, `user page: Tab reached ${detail.reached} of ${detail.expected}`);
  assert(detail.noRing.length === 0, `user page: no visible focus on ${detail.noRing.join(', ')}`);

  log('create a facility with the keyboard');
  await page.goto('/admin/facilities');
  await page.getByLabel('Name', { exact: true }).focus();
  await page.keyboard.type('Keyboard Clinic');
  await page.keyboard.press('Enter');
  await page.getByText('Keyboard Clinic was created.').waitFor();
  // The list is fetched again after the message: wait for its row (fails if it never comes).
  const row = page.locator('td', { hasText: 'Keyboard Clinic' }).first();
  await row.waitFor({ timeout: 15_000 }).catch(() => {});
  const created = await page.locator('td', { hasText: 'Keyboard Clinic' }).count();
  return { screens, detail, openedWithKeyboard: true, facilityCreated: created > 0 };
});
