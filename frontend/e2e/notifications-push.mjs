// The service worker's `push` handler: a Web Push message (delivered through DevTools, as the
// Application panel's "Push" button does) becomes a system notification with the message's title
// and body, tagged per report so a newer status replaces the older one, and the path to open.
import { BASE_URL, assert, scenario, sleep, waitForServiceWorker } from './_lib.mjs';

const origin = new URL(BASE_URL).origin;

await scenario(async (t) => {
  const { context } = await t.launch();
  await context.grantPermissions(['notifications'], { origin });
  const page = await context.newPage();
  await page.goto('/login');
  await waitForServiceWorker(page);

  const cdp = await context.newCDPSession(page);
  const registrations = [];
  cdp.on('ServiceWorker.workerRegistrationUpdated', ({ registrations: updated }) => registrations.push(...updated));
  await cdp.send('ServiceWorker.enable');
  for (let i = 0; i < 50 && !registrations.some((r) => !r.isDeleted && r.scopeURL.startsWith(origin)); i += 1) await sleep(100);
  const registration = registrations.find((r) => !r.isDeleted && r.scopeURL.startsWith(origin));
  assert(registration, `no service worker registration: ${JSON.stringify(registrations)}`);

  const shown = () =>
    page.evaluate(async () => {
      const reg = await navigator.serviceWorker.ready;
      return (await reg.getNotifications()).map((n) => ({ title: n.title, body: n.body, tag: n.tag, data: n.data }));
    });
  async function push(message) {
    await cdp.send('ServiceWorker.deliverPushMessage', {
      origin,
      registrationId: registration.registrationId,
      data: JSON.stringify(message),
    });
  }
  // DevTools' deliverPushMessage resolves before the worker has handled the event, and on a loaded
  // machine a message has been seen to go unhandled; a push service redelivers an unacknowledged
  // message, so do the same once (every message here is tagged, so a repeat replaces, never adds).
  const redelivered = [];
  async function waitUntil(check, what, message) {
    for (let i = 0; i < 300; i += 1) {
      const list = await shown();
      if (check(list)) return list;
      if (i === 100 && message) {
        redelivered.push(what);
        await push(message);
      }
      await sleep(100);
    }
    throw new Error(`timed out: ${what}; shown ${JSON.stringify(await shown())}`);
  }

  const needsMore = {
    type: 'additional_data_required',
    title: 'Radiology needs more information',
    body: 'Please send the lateral view.',
    url: '/reports/r-1',
    report_id: 'r-1',
    upload_id: 'u-1',
  };
  await push(needsMore);
  const first = await waitUntil((list) => list.length === 1, 'the first notification', needsMore);
  const ready = {
    type: 'report_ready',
    title: 'Report ready',
    body: 'The report for your CT study is ready.',
    url: '/reports/r-1',
    report_id: 'r-1',
    upload_id: 'u-1',
  };
  await push(ready);
  const replaced = await waitUntil((list) => list.length === 1 && list[0].title === 'Report ready', 'the replacement', ready);
  const failed = { type: 'upload_failed', title: 'Upload failed', body: 'PACS refused it.', url: 'https://evil.example/', upload_id: 'u-2' };
  await push(failed);
  const both = await waitUntil((list) => list.length === 2, 'a second tag', failed);
  return { first: first[0], replaced: replaced[0], both, redelivered };
});
