// Accessibility basics in a real browser: every form control has an accessible name, the sign-in
// form works with the keyboard alone, and the focused control shows a visible focus ring.
import { assert, log, newUser, registerViaApi, scenario, PHONE } from './_lib.mjs';
import { unnamedControls } from './a11y-helpers.mjs';

async function focusRing(page) {
  return page.evaluate(() => {
    const el = document.activeElement;
    if (!el || el === document.body) return null;
    const style = getComputedStyle(el);
    return {
      tag: el.tagName,
      name: el.getAttribute('name') ?? el.textContent?.trim().slice(0, 40),
      visible: el.matches(':focus-visible') && style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) >= 2,
    };
  });
}

await scenario(async (t) => {
  const user = await registerViaApi(newUser('a11y'));
  const { context } = await t.launch({ viewport: PHONE });
  const page = await context.newPage();
  const checked = {};

  for (const path of ['/login', '/register']) {
    await page.goto(path);
    await page.locator('main h1').first().waitFor();
    const unnamed = await unnamedControls(page);
    assert(unnamed.length === 0, `${path}: controls without an accessible name: ${unnamed.join(' | ')}`);
    checked[path] = 'named';
  }

  log('sign in with the keyboard only');
  await page.goto('/login');
  await page.getByLabel('Username or email').waitFor();
  const visited = [];
  for (let i = 0; i < 15; i += 1) {
    await page.keyboard.press('Tab');
    const ring = await focusRing(page);
    if (!ring) continue;
    visited.push(ring.name);
    assert(ring.visible, `no visible focus ring on ${ring.tag} ${ring.name}`);
    if (ring.name === 'login') break;
  }
  assert(visited.includes('login'), `Tab never reached the login field (visited: ${visited.join(', ')})`);
  await page.keyboard.type(user.username);
  await page.keyboard.press('Tab');
  assert((await focusRing(page))?.name === 'password', 'Tab from login does not reach the password');
  await page.keyboard.type(user.password);
  await page.keyboard.press('Enter');
  await page.waitForURL((url) => url.pathname === '/upload', { timeout: 20_000 });

  const unnamed = await unnamedControls(page);
  assert(unnamed.length === 0, `/upload: controls without an accessible name: ${unnamed.join(' | ')}`);
  checked['/upload'] = 'named';

  log('a client-side navigation moves focus to the new page');
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'History' }).click();
  await page.getByRole('heading', { name: 'Upload history' }).waitFor();
  const focused = await page.evaluate(() => document.activeElement?.id);
  assert(focused === 'main', `focus stayed on ${focused}`);

  return { checked, tabOrder: visited, focusAfterNavigation: focused };
});
