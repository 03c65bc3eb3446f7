// Helpers of the admin console scenarios (admin-*.mjs).
import { assert, loginViaUi } from './_lib.mjs';

export const PASSWORD = process.env.E2E_PASSWORD ?? '';

export function account(username) {
  assert(username, 'a username must be given to the scenario');
  return { username, password: PASSWORD };
}

/** Sign in as the admin (who lands on the dashboard) and open the admin console from the nav. */
export async function openAdminConsole(page, admin) {
  await loginViaUi(page, admin, { landing: '/dashboard' });
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Admin' }).click();
  await page.getByRole('heading', { level: 1, name: 'Users' }).waitFor();
}

/** Find a user by username in the list (the search box) and open their page. */
export async function openUser(page, username) {
  await page.getByLabel('Search').fill(username);
  await page.getByRole('button', { name: 'Search', exact: true }).click();
  await page.waitForURL((url) => url.searchParams.get('q') === username);
  await page.getByRole('link', { name: username, exact: true }).click();
  await page.getByRole('heading', { name: 'Account' }).waitFor();
  return new URL(page.url()).pathname.split('/').pop();
}

/** The main navigation's link names. */
export async function navLinks(page) {
  return page.getByRole('navigation', { name: 'Main' }).getByRole('link').allTextContents();
}

/** Whether the page scrolls sideways (a table that overflows a phone would). */
export async function overflowsSideways(page) {
  return page.evaluate(() => document.documentElement.scrollWidth > window.innerWidth + 1);
}
