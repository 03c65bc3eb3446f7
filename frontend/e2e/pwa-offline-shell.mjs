// The manifest is valid and linked, the service worker controls the page, and an offline reload
// shows the app shell (signed in, from the service worker's cache).
import { assert, loginViaUi, log, newUser, registerViaApi, scenario, waitForServiceWorker } from './_lib.mjs';

function pngSize(buffer) {
  const signature = Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]);
  assert(buffer.subarray(0, 8).equals(signature), 'icon is not a PNG');
  return { width: buffer.readUInt32BE(16), height: buffer.readUInt32BE(20) };
}

await scenario(async (t) => {
  const { context } = await t.launch();
  const page = await context.newPage();

  log('manifest');
  await page.goto('/');
  const href = await page.locator('link[rel="manifest"]').getAttribute('href');
  assert(href, 'no <link rel="manifest">');
  const manifestUrl = new URL(href, page.url());
  const response = await page.request.get(manifestUrl.href);
  assert(response.ok(), `manifest answered ${response.status()}`);
  const contentType = response.headers()['content-type'] ?? '';
  assert(/application\/(manifest\+)?json/.test(contentType), `manifest content-type ${contentType}`);
  const manifest = await response.json();
  for (const key of ['name', 'short_name', 'start_url', 'scope', 'display', 'theme_color', 'background_color']) {
    assert(manifest[key], `manifest has no ${key}`);
  }
  assert(manifest.display === 'standalone', `display is ${manifest.display}`);
  const scope = new URL(manifest.scope, manifestUrl);
  const start = new URL(manifest.start_url, manifestUrl);
  assert(start.href.startsWith(scope.href), `start_url ${start} outside scope ${scope}`);
  assert(/^#[0-9a-f]{6}$/i.test(manifest.theme_color), `theme_color ${manifest.theme_color}`);
  const themeMeta = await page.locator('meta[name="theme-color"]').getAttribute('content');
  assert(themeMeta?.toLowerCase() === manifest.theme_color.toLowerCase(), 'meta theme-color differs');

  const icons = [];
  for (const icon of manifest.icons ?? []) {
    const iconResponse = await page.request.get(new URL(icon.src, manifestUrl).href);
    assert(iconResponse.ok(), `icon ${icon.src} answered ${iconResponse.status()}`);
    const size = pngSize(await iconResponse.body());
    assert(icon.sizes === `${size.width}x${size.height}`, `icon ${icon.src} is ${size.width}x${size.height}, says ${icon.sizes}`);
    icons.push({ src: icon.src, sizes: icon.sizes, purpose: icon.purpose ?? 'any' });
  }
  const anyIcons = icons.filter((icon) => icon.purpose.split(' ').includes('any'));
  assert(anyIcons.some((icon) => icon.sizes === '192x192'), 'no 192x192 icon');
  assert(anyIcons.some((icon) => icon.sizes === '512x512'), 'no 512x512 icon');
  assert(
    icons.some((icon) => icon.purpose.split(' ').includes('maskable') && icon.sizes === '512x512'),
    'no 512x512 maskable icon',
  );

  log('service worker');
  await waitForServiceWorker(page);
  const scriptURL = await page.evaluate(() => navigator.serviceWorker.controller?.scriptURL ?? null);
  assert(scriptURL === new URL('/sw.js', page.url()).href, `controlled by ${scriptURL}`);

  log('sign in, then reload offline');
  const user = await registerViaApi(newUser('pwa'));
  await loginViaUi(page, user);
  await page.goto('/history');
  await page.getByText('No uploads yet.').waitFor();
  await page.goto('/upload');
  await page.getByRole('button', { name: 'Upload now' }).waitFor();
  await context.setOffline(true);
  await page.reload({ waitUntil: 'domcontentloaded' });
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'History' }).waitFor();
  await page.getByText('You are offline.', { exact: false }).first().waitFor();
  assert(new URL(page.url()).pathname === '/upload', `offline reload landed on ${page.url()}`);
  const offlineTitle = await page.title();

  log('offline, the history shows what it last saw, flagged as cached');
  await page.goto('/history');
  await page.getByRole('heading', { name: 'Upload history' }).waitFor();
  await page.getByText('Viewing cached data').waitFor();
  const cachedListShown = await page.getByText('No uploads yet.').isVisible();

  log('back online: live data, no badge');
  await context.setOffline(false);
  await page.reload();
  await page.getByText('No uploads yet.').waitFor();
  await page.waitForTimeout(500);
  const badgeOnline = await page.getByText('Viewing cached data').count();
  assert(badgeOnline === 0, 'the cached-data badge stays online');

  return {
    manifestUrl: manifestUrl.pathname,
    name: manifest.name,
    display: manifest.display,
    startUrl: manifest.start_url,
    scope: manifest.scope,
    themeColor: manifest.theme_color,
    icons,
    serviceWorker: new URL(scriptURL).pathname,
    offlineTitle,
    cachedListShown,
  };
});
