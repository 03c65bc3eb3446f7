// Settings → Upload preferences and This device, against the real backend:
// 1. a chunk size chosen in the settings screen is what the upload screen's chunk PUTs carry
//    (sizes observed on the wire), and the default service level preselects the study form;
// 2. "Clear local data" with a queued upload: the confirmation names it, Cancel keeps it (queue
//    row and file in IndexedDB), confirming deletes it;
// 3. screenshots of the three screens at phone and desktop sizes.
import { ARTIFACTS, DESKTOP, PHONE, artifact, assert, log, loginViaUi, newUser, registerViaApi, scenario } from './_lib.mjs';
import { formValues, pickFiles, queueRows, studyFiles, waitFor, waitForState } from './upload-helpers.mjs';

const CHUNK_PATH = /\/api\/upload\/[^/]+\/chunk\?file=(\d+)&index=(\d+)/;
const CHOSEN = 512 * 1024;

await scenario(async (t) => {
  assert(ARTIFACTS, 'E2E_ARTIFACTS');
  const user = await registerViaApi(newUser('settings'));
  const { context } = await t.launch({ viewport: DESKTOP });
  const page = await context.newPage();
  await loginViaUi(page, user);

  log('1. upload preferences: STAT and 512 KiB chunks');
  await page.goto('/settings/preferences');
  await page.getByRole('heading', { name: 'Upload preferences', level: 2 }).waitFor();
  // click(), then wait: a controlled radio is checked by React's re-render, after check() looks.
  await page.getByRole('radio', { name: /^Stat/ }).click();
  await page.locator('input[name="default_service_level"][value="STAT"]:checked').waitFor();
  await page.getByTestId('preferences-save-status').filter({ hasText: 'Saved.' }).waitFor();
  await page.getByText('Advanced: chunk size').click();
  const options = await page.getByLabel('Chunk size').locator('option').evaluateAll((els) => els.map((o) => Number(o.value)));
  await page.getByLabel('Chunk size').selectOption(String(CHOSEN));
  await page.getByTestId('preferences-save-status').filter({ hasText: 'Saved.' }).waitFor();

  const sizes = [];
  context.on('requestfinished', async (request) => {
    const match = request.method() === 'PUT' && CHUNK_PATH.exec(request.url());
    if (!match) return;
    // A Blob body is streamed, so Playwright has no copy of it (sizes() says 0): the request's
    // Content-Length, as sent on the wire, gives its size.
    const headers = await request.allHeaders();
    sizes.push({ file: Number(match[1]), index: Number(match[2]), bytes: Number(headers['content-length'] ?? -1) });
  });
  let initBody = null;
  context.on('request', (request) => {
    if (!initBody && request.method() === 'POST' && request.url().endsWith('/api/upload/init')) {
      initBody = request.postDataJSON();
    }
  });

  await page.goto('/upload');
  const files = studyFiles();
  await pickFiles(page, files);
  const form = await formValues(page);
  assert(form.serviceLevel === 'STAT', `the default service level preselects the form: ${form.serviceLevel}`);
  await page.getByRole('button', { name: 'Upload now' }).click();
  const item = await waitForState(page, 'completed');
  const uploadId = await item.getAttribute('data-upload-id');

  log('2. clear local data with a queued upload');
  // The server cannot be reached for init: the study stays queued on this device.
  await context.route('**/api/upload/init', (route) => route.abort('connectionrefused'));
  await pickFiles(page, files);
  await page.getByRole('button', { name: 'Upload now' }).click();
  await waitFor(async () => (await queueRows(page)).entries.some((e) => e.state === 'pending'), 'a pending entry');
  const queued = await queueRows(page);
  const pendingId = queued.entries.find((e) => e.state === 'pending').id;

  await page.goto('/settings/device');
  await page.getByRole('heading', { name: 'This device', level: 2 }).waitFor();
  await page.getByTestId('storage-queue').filter({ hasText: '1 queued upload not sent yet' }).waitFor();
  const storage = {
    used: await page.getByTestId('storage-used').innerText(),
    available: await page.getByTestId('storage-available').innerText(),
    queue: await page.getByTestId('storage-queue').innerText(),
    persist: await page.getByTestId('persist-state').innerText(),
    build: await page.getByTestId('build-id').innerText(),
  };
  await page.getByRole('button', { name: 'Clear local data…' }).click();
  const dialog = page.getByRole('alertdialog', { name: 'Clear local data?' });
  const warning = await dialog.getByTestId('clear-data-loss').innerText();
  for (const [label, viewport] of [['phone', PHONE], ['desktop', DESKTOP]]) {
    await page.setViewportSize(viewport);
    await page.screenshot({ path: artifact(`settings-device-confirm-${label}.png`), fullPage: true });
  }
  await dialog.getByRole('button', { name: 'Cancel, keep everything' }).click();
  await dialog.waitFor({ state: 'detached' });
  const afterCancel = await queueRows(page);

  await page.getByRole('button', { name: 'Clear local data…' }).click();
  await dialog.getByRole('button', { name: 'Delete 1 queued upload and clear' }).click();
  await page.getByText('Local data cleared.').waitFor();
  const afterClear = await queueRows(page);

  log('3. screenshots');
  const shots = [];
  for (const [path, heading] of [
    ['/settings/preferences', 'Upload preferences'],
    ['/settings/notifications', 'Notifications'],
    ['/settings/device', 'This device'],
  ]) {
    await page.goto(path);
    await page.getByRole('heading', { name: heading, exact: true, level: 2 }).waitFor();
    if (path === '/settings/preferences') await page.getByText('Advanced: chunk size').click();
    await page.waitForLoadState('networkidle');
    for (const [label, viewport] of [['phone', PHONE], ['desktop', DESKTOP]]) {
      await page.setViewportSize(viewport);
      const name = `settings-${path.split('/').pop()}-${label}.png`;
      await page.screenshot({ path: artifact(name), fullPage: true });
      shots.push({ name, label });
    }
  }

  return {
    user: { username: user.username, password: user.password },
    options,
    initChunkSize: initBody?.chunk_size ?? null,
    uploadId,
    sizes,
    storage,
    warning,
    pendingId,
    afterCancel: {
      ids: afterCancel.entries.map((e) => e.id),
      states: afterCancel.entries.map((e) => e.state),
      blobs: afterCancel.blobs,
    },
    afterClear: { entries: afterClear.entries.length, blobs: afterClear.blobs },
    shots,
  };
});
