// A study queued offline is sent by the service worker (Background Sync) once the network is
// back, with no upload page open: the page has moved on to /history, where nothing uploads.
import { assert, BASE_URL, log, loginViaUi, newProfileDir, newUser, registerViaApi, scenario, sleep, waitForServiceWorker } from './_lib.mjs';
import { countChunks, pickFiles, queueRows, studyFiles, waitFor } from './upload-helpers.mjs';

const SYNC_TAG = 'relaypacs-upload-queue';

await scenario(async (t) => {
  const user = await registerViaApi(newUser('bgsync'));
  const { context } = await t.launch({ profileDir: newProfileDir('bgsync'), permissions: ['notifications'] });
  const counts = countChunks(context);
  const page = context.pages()[0] ?? (await context.newPage());
  await loginViaUi(page, user);
  await waitForServiceWorker(page);

  const cdp = await context.newCDPSession(page);
  const registrations = new Map();
  cdp.on('ServiceWorker.workerRegistrationUpdated', ({ registrations: list }) => {
    for (const r of list) if (!r.isDeleted) registrations.set(r.scopeURL, r.registrationId);
  });
  await cdp.send('ServiceWorker.enable');

  await context.setOffline(true);
  const files = studyFiles();
  await pickFiles(page, files);
  await page.getByRole('button', { name: 'Queue for later' }).click();
  await page.getByText('Queued — will send when online').waitFor();
  // For the record: a registration still waiting (one already firing is not listed).
  const syncTags = await page.evaluate(async () => (await (await navigator.serviceWorker.ready).sync?.getTags()) ?? null);

  // Leave the upload screen (client-side navigation: no network needed), then come back online.
  await page.getByRole('link', { name: 'History' }).click();
  await page.waitForURL((url) => url.pathname === '/history');
  await context.setOffline(false);

  let viaDevtools = false;
  const done = async () => (await queueRows(page)).entries.every((e) => e.state === 'completed');
  try {
    await waitFor(done, 'the automatic Background Sync', { timeoutMs: 20_000, intervalMs: 250 });
  } catch {
    // Chromium may hold a sync it saw fail while offline for minutes: fire it now through
    // DevTools (the same `sync` event the browser would dispatch).
    viaDevtools = true;
    const registrationId = registrations.get(`${BASE_URL}/`);
    assert(registrationId, `no service worker registration: ${JSON.stringify([...registrations])}`);
    log('dispatching the sync event through DevTools');
    await cdp.send('ServiceWorker.dispatchSyncEvent', {
      origin: BASE_URL,
      registrationId,
      tag: SYNC_TAG,
      lastChance: false,
    });
    await waitFor(done, 'the service worker to send the queued study', { timeoutMs: 60_000, intervalMs: 250 });
  }
  assert(new URL(page.url()).pathname === '/history', 'still on /history: the page did not upload');
  const rows = await queueRows(page);
  assert(rows.blobs === 0, `Blobs deleted after completion, ${rows.blobs} left`);
  // The service worker told the user (notification permission was granted).
  let notifications = [];
  await waitFor(
    async () => {
      notifications = await page.evaluate(async () =>
        (await (await navigator.serviceWorker.ready).getNotifications()).map((n) => ({ title: n.title, body: n.body })),
      );
      return notifications.length > 0;
    },
    'the completion notification',
    { timeoutMs: 10_000, intervalMs: 200 },
  );
  await sleep(200);
  return {
    notifications,
    user: { username: user.username, password: user.password },
    uploadId: rows.entries[0].uploadId,
    syncTags,
    viaDevtools,
    counts,
  };
});
