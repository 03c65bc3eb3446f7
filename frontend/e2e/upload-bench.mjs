// Benchmark run (bench/browser_upload.py launches it): one study through the real upload screen
// in headless Chromium; prints timings and the page's JS heap sampled during the upload.
import { readFileSync } from 'node:fs';

import { loginViaUi, log, newProfileDir, scenario, sleep } from './_lib.mjs';
import { pickFiles, waitForState } from './upload-helpers.mjs';

const FILES = JSON.parse(readFileSync(process.env.BENCH_FILE_LIST, 'utf8'));
const USER = { username: process.env.BENCH_USERNAME, password: process.env.BENCH_PASSWORD };
const TIMEOUT_MS = Number(process.env.BENCH_TIMEOUT_MS ?? 1_200_000);
const SAMPLE_MS = 200;
const CHUNK_PATH = /\/api\/upload\/[^/]+\/chunk\?/;

await scenario(async (t) => {
  // A persistent profile: queued files are kept in IndexedDB on disk, as in a real browser.
  const { context } = await t.launch({
    profileDir: newProfileDir('bench'),
    // BENCH_BLOCK_SW=1: measure without the service worker in the request path.
    ...(process.env.BENCH_BLOCK_SW ? { serviceWorkers: 'block' } : {}),
  });
  const page = context.pages()[0] ?? (await context.newPage());
  // The bench signs in as an admin, whose landing page is the dashboard: then to the upload screen.
  await loginViaUi(page, USER, { landing: null });
  if (new URL(page.url()).pathname !== '/upload') {
    await page.goto('/upload');
  }

  const cdp = await context.newCDPSession(page);
  await cdp.send('Performance.enable');
  const heap = async () => {
    const { metrics } = await cdp.send('Performance.getMetrics');
    const get = (name) => metrics.find((m) => m.name === name)?.value ?? 0;
    return { used: get('JSHeapUsedSize'), total: get('JSHeapTotalSize') };
  };
  await cdp.send('HeapProfiler.enable');
  await cdp.send('HeapProfiler.collectGarbage');
  const baseline = await heap();

  const chunks = { requests: 0, ok: 0, first: 0, last: 0 };
  context.on('request', (request) => {
    if (request.method() !== 'PUT' || !CHUNK_PATH.test(request.url())) return;
    chunks.requests += 1;
    if (!chunks.first) chunks.first = Date.now();
  });
  context.on('requestfinished', (request) => {
    if (request.method() !== 'PUT' || !CHUNK_PATH.test(request.url())) return;
    chunks.ok += 1;
    chunks.last = Date.now();
  });

  const picked = Date.now();
  await pickFiles(page, FILES);
  const selected = Date.now();
  const afterSelection = await heap();

  let peak = afterSelection;
  let samples = 0;
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      const h = await heap().catch(() => null);
      if (h) {
        samples += 1;
        if (h.used > peak.used) peak = h;
      }
      await sleep(SAMPLE_MS);
    }
  })();

  const clicked = Date.now();
  await page.getByRole('button', { name: 'Upload now' }).click();
  const item = await waitForState(page, 'completed', { timeoutMs: TIMEOUT_MS });
  const completed = Date.now();
  sampling = false;
  await sampler;
  const uploadId = await item.getAttribute('data-upload-id');
  log(`uploaded ${FILES.length} files: ${chunks.requests} chunk requests, ${(completed - clicked) / 1000} s`);
  return {
    uploadId,
    files: FILES.length,
    chunkRequests: chunks.requests,
    chunkOk: chunks.ok,
    selectSeconds: (selected - picked) / 1000,
    // click → first chunk: saving the study in IndexedDB, init, status
    startSeconds: (chunks.first - clicked) / 1000,
    chunkPhaseSeconds: (chunks.last - chunks.first) / 1000,
    // last chunk → completed shown: complete (server-side assembly and validation)
    completeSeconds: (completed - chunks.last) / 1000,
    totalSeconds: (completed - clicked) / 1000,
    heap: { baseline, afterSelection, peak, samples },
  };
});
