// A study sent to the gateway's tus endpoint (/api/tus/, docs/tus.md) by a stock tus client in
// Chromium — tus-js-client (its shipped dist/tus.min.js) or Uppy (@uppy/core + @uppy/tus, bundled
// as they ship) — one tus upload per file of an upload opened with init, going offline mid-file
// and back; then completed with our own POST /api/upload/{id}/complete.
// Env: E2E_CLIENT (tus-js-client | uppy), E2E_FILES (JSON list of paths, in init order),
// E2E_PATIENT, E2E_STUDY_DATE (YYYY-MM-DD), E2E_CHUNK_SIZE (init's), E2E_PATCH_SIZE.
import { statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'vite';
import { ARTIFACTS, BASE_URL, assert, log, newUser, registerViaApi, scenario, sleep } from './_lib.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const FRONTEND = path.dirname(HERE);
const CLIENT = process.env.E2E_CLIENT ?? 'tus-js-client';
const FILES = JSON.parse(process.env.E2E_FILES ?? '[]');
const PATCH_SIZE = Number(process.env.E2E_PATCH_SIZE ?? 100000);

async function clientScript() {
  if (CLIENT === 'tus-js-client') {
    return path.join(FRONTEND, 'node_modules', 'tus-js-client', 'dist', 'tus.min.js');
  }
  const outDir = path.join(ARTIFACTS, 'uppy-bundle');
  await build({
    configFile: false,
    root: FRONTEND,
    logLevel: 'warn',
    build: {
      outDir,
      emptyOutDir: true,
      minify: false,
      lib: { entry: path.join(HERE, 'tus-uppy-entry.js'), name: 'UppyEntry', formats: ['iife'], fileName: () => 'uppy.js' },
    },
  });
  return path.join(outDir, 'uppy.js');
}

async function api(pathname, { method = 'GET', headers = {}, body } = {}) {
  const response = await fetch(`${BASE_URL}${pathname}`, {
    method,
    headers: { 'Content-Type': 'application/json', ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, json: text ? JSON.parse(text) : null };
}

// Runs in the page: send every file with the client, recording each request's method and offset.
async function sendAll({ client, created, patchSize, retryDelays }) {
  const input = document.getElementById('tus-files');
  const files = [...input.files];
  const log = (window.tusLog = []);
  window.tusBytes = 0;
  const onBeforeRequest = (req) => {
    log.push({ at: Date.now(), method: req.getMethod(), offset: req.getHeader('Upload-Offset') ?? null, url: req.getURL() });
  };
  // Which requests the server answered (one failed in the browser while offline never got there).
  const onAfterResponse = (req) => {
    const entry = log.findLast(
      (r) => !r.answered && r.method === req.getMethod() && r.url === req.getURL() && r.offset === (req.getHeader('Upload-Offset') ?? null),
    );
    if (entry) entry.answered = true;
  };
  const headers = { 'X-Upload-Token': created.upload_token };
  const metaOf = (index) => ({ upload_id: created.upload_id, file_index: String(index) });
  // tus clients do not retry while the browser is offline (navigator.onLine): like an app, start
  // again once it is back online; the client then resumes from HEAD's offset.
  window.tusRestarts = 0;
  const online = () =>
    navigator.onLine ? Promise.resolve() : new Promise((resolve) => window.addEventListener('online', resolve, { once: true }));
  if (client === 'tus-js-client') {
    for (const [index, file] of files.entries()) {
      const base = window.tusBytes;
      await new Promise((resolve, reject) => {
        const upload = new window.tus.Upload(file, {
          endpoint: '/api/tus/',
          headers,
          metadata: { ...metaOf(index), filename: file.name },
          chunkSize: patchSize,
          retryDelays,
          onBeforeRequest,
          onAfterResponse,
          onProgress: (sent) => {
            window.tusBytes = base + sent;
          },
          onSuccess: resolve,
          onError: (error) => {
            if (window.tusRestarts >= 5) return reject(error);
            window.tusRestarts += 1;
            online().then(() => upload.start());
          },
          // The second file goes as two partial uploads joined by a final one (concatenation).
          ...(index === 1 ? { parallelUploads: 2, metadataForPartialUploads: metaOf(index) } : {}),
        });
        upload.start();
      });
    }
    return { sent: files.length, restarts: window.tusRestarts };
  }
  const { Uppy, Tus } = window.UppyBundle;
  const uppy = new Uppy({ autoProceed: false });
  uppy.use(Tus, {
    endpoint: '/api/tus/',
    headers,
    chunkSize: patchSize,
    retryDelays,
    onBeforeRequest,
    onAfterResponse,
    allowedMetaFields: ['upload_id', 'file_index', 'filename'],
    limit: 1,
  });
  uppy.on('progress', () => {
    window.tusBytes = uppy.getFiles().reduce((n, f) => n + (f.progress.bytesUploaded || 0), 0);
  });
  for (const [index, file] of files.entries()) {
    uppy.addFile({ name: file.name, type: 'application/dicom', data: file, meta: { ...metaOf(index), filename: file.name } });
  }
  let result = await uppy.upload();
  while (result.failed.length && window.tusRestarts < 5) {
    window.tusRestarts += 1;
    await online();
    result = await uppy.retryAll();
  }
  if (result.failed.length) throw new Error(`Uppy failed: ${result.failed.map((f) => f.error).join('; ')}`);
  return { sent: uppy.getFiles().filter((f) => f.progress.uploadComplete).length, restarts: window.tusRestarts };
}

await scenario(async (t) => {
  const user = await registerViaApi(newUser('tus'));
  const login = await api('/api/auth/login', { method: 'POST', body: { login: user.username, password: user.password } });
  assert(login.status === 200, `login: ${login.status}`);
  const bearer = { Authorization: `Bearer ${login.json.access_token}` };
  const sizes = FILES.map((p) => statSync(p).size);
  const total = sizes.reduce((a, b) => a + b, 0);
  const init = await api('/api/upload/init', {
    method: 'POST',
    headers: bearer,
    body: {
      patient_name: process.env.E2E_PATIENT,
      study_date: process.env.E2E_STUDY_DATE,
      modality: 'CT',
      service_level: 'ROUTINE',
      chunk_size: Number(process.env.E2E_CHUNK_SIZE),
      force_upload: true,
      files: FILES.map((p, i) => ({ name: path.basename(p), size: sizes[i] })),
    },
  });
  assert(init.status === 201, `init: ${init.status} ${JSON.stringify(init.json)}`);
  const created = init.json;

  const { context } = await t.launch();
  const page = await context.newPage();
  await page.goto('/login');
  await page.addScriptTag({ path: await clientScript() });
  await page.evaluate(() => {
    const input = document.createElement('input');
    input.type = 'file';
    input.multiple = true;
    input.id = 'tus-files';
    document.body.append(input);
  });
  await page.setInputFiles('#tus-files', FILES);
  const retryDelays = [0, 500, 1000, 1000, 2000, 2000, 3000, 3000, 3000, 5000, 5000, 5000];
  const sending = page.evaluate(sendAll, { client: CLIENT, created, patchSize: PATCH_SIZE, retryDelays });
  sending.catch(() => {}); // awaited below; never an unhandled rejection meanwhile

  // Offline once a third of the study's PATCHes have gone (counted from the requests themselves:
  // Uppy's progress events are throttled); PATCHes are not whole files, so this is mid-file.
  const deadline = Date.now() + 60000;
  const third = Math.ceil(total / PATCH_SIZE / 3);
  let patchesAtOffline;
  for (;;) {
    patchesAtOffline = await page.evaluate(() => window.tusLog?.filter((r) => r.method === 'PATCH').length ?? 0);
    if (patchesAtOffline >= third) break;
    assert(Date.now() < deadline, `only ${patchesAtOffline} PATCHes in 60 s`);
    await sleep(10);
  }
  const bytesAtOffline = await page.evaluate(() => window.tusBytes);
  const offlineAt = await page.evaluate(() => Date.now());
  await context.setOffline(true);
  log(`offline after ${patchesAtOffline} PATCHes (${bytesAtOffline} of ${total} bytes acknowledged)`);
  await sleep(2500);
  const onlineAt = await page.evaluate(() => Date.now());
  await context.setOffline(false);
  const sent = await sending;
  const requests = await page.evaluate(() => window.tusLog);

  const complete = await api(`/api/upload/${created.upload_id}/complete`, {
    method: 'POST',
    headers: { 'X-Upload-Token': created.upload_token },
  });
  assert(complete.status === 202, `complete: ${complete.status} ${JSON.stringify(complete.json)}`);
  const patches = requests.filter((r) => r.method === 'PATCH');
  // Per tus URL cut off by going offline: the offset of its first PATCH once back online.
  const cutOff = new Set(patches.filter((r) => r.at < offlineAt).map((r) => r.url));
  const resumedOffsets = [...cutOff]
    .map((url) => patches.find((r) => r.url === url && r.at >= onlineAt))
    .filter((r) => r !== undefined)
    .map((r) => Number(r.offset));
  const zeroPatches = {};
  // Answered ones: a PATCH that failed in the offline browser before reaching the server is tried
  // again from where the server stands, which may still be 0; that is no upload started over.
  for (const r of patches) if (r.answered && Number(r.offset) === 0) zeroPatches[r.url] = (zeroPatches[r.url] ?? 0) + 1;
  return {
    user: { username: user.username, password: user.password },
    uploadId: created.upload_id,
    client: CLIENT,
    sent,
    total,
    bytesAtOffline,
    patchesAtOffline,
    expectedPatches: Math.ceil(total / PATCH_SIZE),
    offlineAt,
    onlineAt,
    patchCount: patches.length,
    patchedBytesUpperBound: patches.length * PATCH_SIZE,
    resumedOffsets,
    maxPatchesAtZero: Math.max(0, ...Object.values(zeroPatches)),
    heads: requests.filter((r) => r.method === 'HEAD' && r.at >= offlineAt).length,
    partials: requests.filter((r) => r.method === 'POST').length,
  };
});
