// Checks the harness itself (tests/e2e/test_harness.py): E2E_SELFTEST=ok returns what it saw,
// E2E_SELFTEST=fail throws after opening a page (so a failure screenshot must appear).
import { assert, BASE_URL, scenario } from './_lib.mjs';

await scenario(async (t) => {
  const { context } = await t.launch();
  const page = await context.newPage();
  await page.goto('/login');
  await page.getByRole('heading', { name: 'Sign in' }).waitFor();
  assert(process.env.E2E_SELFTEST !== 'fail', 'asked to fail (harness self-test)');
  console.log('a line of noise before the result');
  return { baseUrl: BASE_URL, path: new URL(page.url()).pathname, extra: process.env.E2E_EXTRA ?? null };
});
