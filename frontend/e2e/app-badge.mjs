// The app badge (Badging API) in real Chromium, observed where it is called:
// - the page: navigator.setAppBadge / clearAppBadge wrapped by an init script; the unread count
//   follows a notification arriving live (a radiologist changes the report's status through the
//   API) and "Mark all read";
// - the service worker: its navigator's methods wrapped by an evaluate in the worker itself
//   (Playwright's service worker handle, a CDP session on the worker target); a push delivered
//   through DevTools sets the count the message carries, and the notificationclick handler takes
//   one off.
import { BASE_URL, assert, log, loginViaUi, scenario, sleep, waitForServiceWorker } from './_lib.mjs';

const origin = new URL(BASE_URL).origin;
const need = (name) => {
  const value = process.env[name];
  assert(value, `${name} is not set`);
  return value;
};

async function api(token, method, path, body) {
  const response = await fetch(`${BASE_URL}${path}`, {
    method,
    headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${token}` },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await response.text();
  assert(response.ok, `${method} ${path} answered ${response.status}: ${text}`);
  return text ? JSON.parse(text) : null;
}

async function login(username, password) {
  const response = await fetch(`${BASE_URL}/api/auth/login`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ login: username, password }),
  });
  const body = await response.json();
  assert(response.ok && body.access_token, `login answered ${response.status}`);
  return body.access_token;
}

async function until(check, what, timeoutMs = 20_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out: ${what}`);
    await sleep(100);
  }
}

await scenario(async (t) => {
  const clinician = { username: need('E2E_CLINICIAN'), password: need('E2E_PASSWORD') };
  const reportId = need('E2E_REPORT_ID');
  const radiologistToken = await login(need('E2E_RADIOLOGIST'), clinician.password);

  const { context } = await t.launch();
  await context.grantPermissions(['notifications'], { origin });
  await context.addInitScript(() => {
    const calls = [];
    Object.defineProperty(window, '__badgeCalls', { value: calls });
    const nav = navigator;
    const set = nav.setAppBadge?.bind(nav);
    const clear = nav.clearAppBadge?.bind(nav);
    nav.setAppBadge = (count) => {
      calls.push(['set', count]);
      return set ? set(count).catch(() => undefined) : Promise.resolve();
    };
    nav.clearAppBadge = () => {
      calls.push(['clear']);
      return clear ? clear().catch(() => undefined) : Promise.resolve();
    };
  });
  const unreadAtStart = (await api(await login(clinician.username, clinician.password), 'GET', '/api/notifications?page=1&page_size=1'))
    .unread_count;
  const page = await context.newPage();
  const native = await page.evaluate(() => typeof Navigator.prototype.setAppBadge === 'function');
  await loginViaUi(page, clinician, { landing: null });
  const calls = () => page.evaluate(() => window.__badgeCalls.slice());

  log('page: the count at sign-in, a live notification, then mark all read');
  const expectedAtStart = JSON.stringify(unreadAtStart ? ['set', unreadAtStart] : ['clear']);
  const atStart = await until(async () => {
    const list = await calls();
    return JSON.stringify(list[list.length - 1]) === expectedAtStart ? list : null;
  }, `the badge at sign-in: ${expectedAtStart}`);
  await api(radiologistToken, 'POST', `/api/reports/${reportId}/status`, { status: 'PENDING' });
  await api(radiologistToken, 'POST', `/api/reports/${reportId}/status`, {
    status: 'ADDITIONAL_DATA_REQUIRED',
    message: 'Please send the lateral view.',
  });
  const unreadNow = async () => {
    const token = await login(clinician.username, clinician.password);
    return (await api(token, 'GET', '/api/notifications?page=1&page_size=1')).unread_count;
  };
  const serverUnread = await until(async () => ((await unreadNow()) > 0 ? unreadNow() : null), 'a stored notification');
  const afterNotification = await until(async () => {
    const list = await calls();
    const last = list[list.length - 1];
    return last?.[0] === 'set' && last[1] === serverUnread ? list : null;
  }, `setAppBadge(${serverUnread})`);
  await page.goto('/notifications');
  await page.getByRole('button', { name: /Mark all( as)? read/ }).click();
  const afterReadAll = await until(async () => {
    const list = await calls();
    return list[list.length - 1]?.[0] === 'clear' ? list : null;
  }, 'clearAppBadge after mark all read');

  log('service worker: a push sets the count it carries, a click takes one off');
  await waitForServiceWorker(page);
  const worker = await until(async () => context.serviceWorkers()[0] ?? null, 'the service worker');
  await worker.evaluate(() => {
    const calls = [];
    self.__badgeCalls = calls;
    const nav = self.navigator;
    const set = nav.setAppBadge?.bind(nav);
    const clear = nav.clearAppBadge?.bind(nav);
    nav.setAppBadge = (count) => {
      calls.push(['set', count]);
      return set ? set(count).catch(() => undefined) : Promise.resolve();
    };
    nav.clearAppBadge = () => {
      calls.push(['clear']);
      return clear ? clear().catch(() => undefined) : Promise.resolve();
    };
  });
  const cdp = await context.newCDPSession(page);
  const registrations = [];
  cdp.on('ServiceWorker.workerRegistrationUpdated', ({ registrations: updated }) => registrations.push(...updated));
  await cdp.send('ServiceWorker.enable');
  const registration = await until(
    async () => registrations.find((r) => !r.isDeleted && r.scopeURL.startsWith(origin)),
    'the registration',
  );
  const message = {
    type: 'report_ready',
    title: 'Report ready',
    body: 'The report for your CR study is ready.',
    url: `/reports/${reportId}`,
    report_id: reportId,
    unread: 3,
  };
  const workerCalls = () => worker.evaluate(() => self.__badgeCalls.slice());
  // DevTools' deliverPushMessage resolves before the worker handles the event, and on a loaded
  // machine a message can go unhandled: redeliver every 10 s, as a push service would.
  let polls = 0;
  let deliveries = 0;
  const afterPush = await until(async () => {
    const list = await workerCalls();
    if (list.some((c) => c[0] === 'set' && c[1] === 3)) return list;
    if (polls % 100 === 0) {
      deliveries += 1;
      await cdp.send('ServiceWorker.deliverPushMessage', {
        origin,
        registrationId: registration.registrationId,
        data: JSON.stringify(message),
      });
    }
    polls += 1;
    return null;
  }, 'setAppBadge(3) in the worker', 40_000);
  const shown = await page.evaluate(async () =>
    (await (await navigator.serviceWorker.ready).getNotifications()).map((n) => n.tag),
  );
  // A click: the worker's own notificationclick handler, given the notification it showed.
  await worker.evaluate(async () => {
    const [notification] = await self.registration.getNotifications();
    // eslint-disable-next-line no-undef -- runs in the worker, where NotificationEvent exists
    const event = new NotificationEvent('notificationclick', { notification });
    try {
      self.dispatchEvent(event);
    } catch {
      // waitUntil refuses an untrusted event after the handler's work has started
    }
  });
  const afterClick = await until(async () => {
    const list = await workerCalls();
    return list.some((c) => c[0] === 'set' && c[1] === 2) ? list : null;
  }, 'setAppBadge(2) after the click');

  return { native, unreadAtStart, atStart, serverUnread, afterNotification, afterReadAll, afterPush, shown, afterClick, deliveries };
});
