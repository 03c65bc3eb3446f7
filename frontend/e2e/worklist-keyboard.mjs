// The worklist with the keyboard alone, at phone size: every control named, the filters and
// "Assign to me" reached with Tab, each with a visible focus ring, a filter changed with the
// arrow keys, and a report assigned with Enter.
import { assert, log, loginViaUi, PHONE, scenario } from './_lib.mjs';
import { unnamedControls } from './a11y-helpers.mjs';

const radiologist = { username: process.env.E2E_RADIOLOGIST, password: process.env.E2E_PASSWORD };

async function focused(page) {
  return page.evaluate(() => {
    const el = document.activeElement;
    if (!el || el === document.body) return null;
    const style = getComputedStyle(el);
    const label = el.labels?.[0]?.textContent?.trim();
    return {
      tag: el.tagName,
      name: label || el.textContent?.trim().slice(0, 40) || el.tagName,
      reportId: el.closest('li.report-item')?.dataset.reportId ?? null,
      // A date input's focus is on its inner fields, which :focus-visible does not reach.
      visible:
        (el.matches(':focus-visible') || (el.type === 'date' && el.matches(':focus-within'))) &&
        style.outlineStyle !== 'none' &&
        parseFloat(style.outlineWidth) >= 2,
    };
  });
}

/** Tab until `match(focused)`, checking the focus ring of every stop on the way. */
async function tabTo(page, match, visited, limit = 80) {
  for (let i = 0; i < limit; i += 1) {
    await page.keyboard.press('Tab');
    const now = await focused(page);
    if (!now) continue;
    visited.push(now.name);
    assert(now.visible, `no visible focus ring on "${now.name}"`);
    if (match(now)) return now;
  }
  throw new Error(`Tab never reached the control (visited: ${visited.join(' | ')})`);
}

await scenario(async (t) => {
  const { context } = await t.launch({ viewport: PHONE });
  const page = await context.newPage();
  await loginViaUi(page, radiologist, { landing: null });
  await page.goto('/reports');
  await page.locator('li.report-item').first().waitFor();

  const unnamed = await unnamedControls(page);
  assert(unnamed.length === 0, `/reports: controls without an accessible name: ${unnamed.join(' | ')}`);

  log('reach the filters with Tab and change one with the arrow keys');
  const visited = [];
  await page.locator('#main').focus();
  await tabTo(page, (now) => now.name === 'Sort by', visited);
  await tabTo(page, (now) => now.name === 'Service level', visited);
  const before = await page.getByLabel('Service level').inputValue();
  await page.keyboard.press('ArrowDown');
  await page.waitForURL((url) => url.searchParams.get('service_level') === 'STAT', { timeout: 10_000 });
  await page.waitForFunction(() =>
    [...document.querySelectorAll('li.report-item')].every((li) => li.dataset.serviceLevel === 'STAT'),
  );
  const filteredBy = await page.getByLabel('Service level').inputValue();

  log('reach "Assign to me" with Tab and press Enter');
  const button = await tabTo(page, (now) => now.name === 'Assign to me', visited);
  await page.keyboard.press('Enter');
  await page.waitForSelector(`li.report-item[data-report-id="${button.reportId}"][data-assigned="me"]`, {
    timeout: 10_000,
  });
  const focusAfter = await focused(page);

  return {
    unnamed: unnamed.length,
    before,
    filteredBy,
    assignedWithKeyboard: button.reportId,
    tabStops: visited.length,
    reachedSort: visited.includes('Sort by'),
    // The button is gone once the report is mine: focus moves to that report's link, not the page.
    focusAfterAssign: focusAfter ? { tag: focusAfter.tag, reportId: focusAfter.reportId } : null,
  };
});
