// Helpers shared by the upload scenarios (upload-*.mjs). Not a scenario itself.
import { readdirSync } from 'node:fs';
import path from 'node:path';

import { assert, BASE_URL, log, sleep } from './_lib.mjs';

const CHUNK_PATH = /\/api\/upload\/[^/]+\/chunk\?/;

export function studyFiles(dir = process.env.E2E_STUDY_DIR) {
  assert(dir, 'E2E_STUDY_DIR is not set');
  return readdirSync(dir)
    .filter((name) => !name.startsWith('.'))
    .sort()
    .map((name) => path.join(dir, name));
}

export async function apiLogin(user) {
  const response = await fetch(`${BASE_URL}/api/auth/login`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ login: user.username, password: user.password }),
  });
  if (!response.ok) throw new Error(`login answered ${response.status}: ${await response.text()}`);
  return (await response.json()).access_token;
}

/** The user's chunk size preference (the web app lets the server choose from it). */
export async function setChunkSize(user, bytes) {
  const token = await apiLogin(user);
  const response = await fetch(`${BASE_URL}/api/me/preferences`, {
    method: 'PATCH',
    headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${token}` },
    body: JSON.stringify({ chunk_size: bytes }),
  });
  if (!response.ok) throw new Error(`preferences answered ${response.status}: ${await response.text()}`);
}

/** Counts chunk PUTs (requests and 200 answers) across every page of the context. */
export function countChunks(context) {
  const counts = { requests: 0, acknowledged: 0, failed: 0 };
  context.on('request', (request) => {
    if (request.method() === 'PUT' && CHUNK_PATH.test(request.url())) counts.requests += 1;
  });
  context.on('requestfinished', async (request) => {
    if (request.method() !== 'PUT' || !CHUNK_PATH.test(request.url())) return;
    const response = await request.response().catch(() => null);
    if (response?.status() === 200) counts.acknowledged += 1;
  });
  context.on('requestfailed', (request) => {
    if (request.method() === 'PUT' && CHUNK_PATH.test(request.url())) counts.failed += 1;
  });
  return counts;
}

/** Slows every chunk PUT down by `ms`, so a small study takes long enough to interrupt. */
export async function slowChunks(context, ms) {
  await context.route(CHUNK_PATH, async (route) => {
    await sleep(ms);
    try {
      await route.continue();
    } catch {
      // the page went away (reload) or the request was aborted meanwhile
    }
  });
}

/** Chooses the study's files with the file picker; waits for the DICOM check. */
export async function pickFiles(page, files) {
  await page.getByTestId('upload-files-input').setInputFiles(files);
  await page.getByTestId('upload-selection').filter({ hasText: /DICOM files? selected/ }).waitFor();
  return page.getByTestId('upload-selection').innerText();
}

export async function formValues(page) {
  return {
    patientName: await page.getByLabel('Patient name').inputValue(),
    studyDate: await page.getByLabel('Study date').inputValue(),
    modality: await page.getByLabel('Modality').inputValue(),
    serviceLevel: await page.locator('input[name="service_level"]:checked').inputValue(),
  };
}

export async function waitForState(page, state, { timeoutMs = 120_000 } = {}) {
  const item = page.locator(`[data-testid="upload-item"][data-state="${state}"]`).first();
  await item.waitFor({ timeout: timeoutMs });
  return item;
}

export async function waitFor(predicate, what, { timeoutMs = 60_000, intervalMs = 50 } = {}) {
  const deadline = Date.now() + timeoutMs;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(intervalMs);
  }
}

/** The queue entries as IndexedDB holds them (read in the page). */
export async function queueRows(page) {
  return page.evaluate(
    () =>
      new Promise((resolve, reject) => {
        const open = indexedDB.open('relaypacs');
        open.onerror = () => reject(open.error);
        open.onsuccess = () => {
          const db = open.result;
          const tx = db.transaction(['queue', 'blobs'], 'readonly');
          const rows = tx.objectStore('queue').getAll();
          const blobs = tx.objectStore('blobs').count();
          tx.oncomplete = () => {
            resolve({
              entries: rows.result.map((r) => ({
                id: r.id,
                state: r.state,
                uploadId: r.server?.uploadId ?? null,
                files: r.files.length,
              })),
              blobs: blobs.result,
            });
            db.close();
          };
          tx.onerror = () => reject(tx.error);
        };
      }),
  );
}

export { log };
