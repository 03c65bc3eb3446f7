// Issue 14, admin console (1): an admin creates a radiologist in the UI with a temporary
// password; the radiologist signs in, reaches the worklist, has no Upload entry, and assigns
// the STAT report to themself from the worklist in one click.
// Then every admin screen is photographed at phone and desktop sizes (no sideways scrolling).
import { artifact, assert, DESKTOP, log, loginViaUi, newUser, PHONE, scenario, sleep } from './_lib.mjs';
import { account, navLinks, openAdminConsole, openUser, overflowsSideways } from './admin-helpers.mjs';

await scenario(async (t) => {
  const admin = account(process.env.E2E_ADMIN);
  const radiologist = { ...newUser('rad'), role: 'radiologist' };
  const { context } = await t.launch({ viewport: DESKTOP });
  const page = await context.newPage();
  await openAdminConsole(page, admin);

  log('create the radiologist with a temporary password');
  await page.getByRole('button', { name: 'New user' }).click();
  const form = page.getByRole('form', { name: 'New user' });
  await form.getByLabel('Username', { exact: true }).fill(radiologist.username);
  await form.getByLabel('Full name', { exact: true }).fill(radiologist.fullName);
  await form.getByLabel('Email', { exact: true }).fill(radiologist.email);
  await form.getByLabel('Role', { exact: true }).selectOption('radiologist');
  await form.getByRole('radio', { name: /Temporary password/ }).check();
  await form.getByLabel('Temporary password', { exact: true }).fill(radiologist.password);
  await form.getByRole('button', { name: 'Create user' }).click();
  await page.getByText(`${radiologist.username} was created.`).waitFor();
  const userId = await openUser(page, radiologist.username);
  const role = await page.getByLabel('Role', { exact: true }).inputValue();

  log('the radiologist signs in');
  const other = await t.launch({ viewport: DESKTOP });
  const radPage = await other.context.newPage();
  await loginViaUi(radPage, radiologist, { landing: '/reports' });
  await radPage.getByRole('heading', { level: 1, name: 'Worklist' }).waitFor();
  const radiologistNav = await navLinks(radPage);

  log('the radiologist assigns the STAT report to themself from the worklist');
  const stat = radPage.locator('li.report-item[data-service-level="STAT"]');
  // The report appears once the study is forwarded (the test uploads it just before).
  for (let i = 0; i < 60 && !(await stat.count()); i += 1) {
    await sleep(500);
    await radPage.reload();
    await radPage.getByRole('heading', { level: 1, name: 'Worklist' }).waitFor();
  }
  const firstLevel = await radPage.locator('li.report-item').first().getAttribute('data-service-level');
  await stat.first().getByRole('button', { name: 'Assign to me' }).click();
  await radPage.locator('li.report-item[data-service-level="STAT"][data-assigned="me"]').waitFor();
  const assignedStat = await radPage.locator('li.report-item[data-assigned="me"]').count();
  await radPage.goto('/admin/users');
  await radPage.getByRole('heading', { name: 'Not allowed' }).waitFor();
  const adminRefused = !(await radPage.getByRole('heading', { level: 1, name: 'Users' }).count());
  await other.close();

  log('screenshots of every admin screen');
  const screens = [
    ['users', '/admin/users', 'Users'],
    ['user', `/admin/users/${userId}`, radiologist.fullName],
    ['facilities', '/admin/facilities', 'Facilities'],
    ['audit', '/admin/audit', 'Audit log'],
    ['pacs', '/admin/pacs', 'PACS'],
  ];
  const shots = [];
  for (const [label, viewport] of [
    ['phone', PHONE],
    ['desktop', DESKTOP],
  ]) {
    await page.setViewportSize(viewport);
    for (const [name, path, heading] of screens) {
      await page.goto(path);
      await page.getByRole('heading', { level: 1, name: heading }).waitFor();
      await page.waitForLoadState('networkidle');
      const overflow = await overflowsSideways(page);
      assert(!overflow, `${path} scrolls sideways at ${label} size`);
      const file = artifact(`admin-${name}-${label}.png`);
      await page.screenshot({ path: file, fullPage: true });
      shots.push({ screen: name, label, file, width: viewport.width });
    }
  }
  return { created: radiologist.username, role, radiologistNav, adminRefused, firstLevel, assignedStat, shots };
});
