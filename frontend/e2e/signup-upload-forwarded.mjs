// Register → verify by the mailed link → sign in → upload a multi-file study from disk through the
// upload screen → the upload reaches `forwarded` on the history page.
// Env: E2E_STUDY_DIR (a directory of .dcm files, made by tests/dicom_factory.py).
import { readdirSync } from 'node:fs';
import path from 'node:path';

import { assert, DESKTOP, loginViaUi, log, newUser, registerViaUi, scenario, verificationLink } from './_lib.mjs';

const STUDY_DIR = process.env.E2E_STUDY_DIR;
const FORWARD_TIMEOUT_MS = Number(process.env.E2E_FORWARD_TIMEOUT_MS ?? 120_000);

await scenario(async (t) => {
  assert(STUDY_DIR, 'E2E_STUDY_DIR is not set');
  const files = readdirSync(STUDY_DIR)
    .filter((name) => name.endsWith('.dcm'))
    .sort()
    .map((name) => path.join(STUDY_DIR, name));
  assert(files.length > 1, `need a multi-file study in ${STUDY_DIR}`);

  const { context } = await t.launch({ viewport: DESKTOP });
  const page = await context.newPage();
  const user = newUser('signup');

  log('register through the form');
  await registerViaUi(page, user);

  log('verify with the mailed link');
  const link = await verificationLink(user.email);
  await page.goto(link);
  await page.getByRole('heading', { name: 'Email verified' }).waitFor();
  assert(!page.url().includes('token='), `the token stayed in the address bar: ${page.url()}`);

  log('sign in');
  await loginViaUi(page, user);

  log(`upload ${files.length} files`);
  await page.getByLabel('DICOM files', { exact: true }).setInputFiles(files);
  await page.getByText(new RegExp(`${files.length} DICOM files selected`)).waitFor({ timeout: 30_000 });
  const patient = page.getByLabel('Patient name');
  // Pre-filled from the first file's header where possible; fill what is missing.
  if (!(await patient.inputValue())) await patient.fill('DOE^JANE');
  const studyDate = page.getByLabel('Study date');
  if (!(await studyDate.inputValue())) await studyDate.fill('2026-01-15');
  const modality = page.getByLabel('Modality');
  if (!(await modality.inputValue())) await modality.fill('CT');
  const prefilled = {
    patient: await patient.inputValue(),
    studyDate: await studyDate.inputValue(),
    modality: await modality.inputValue(),
  };
  await page.getByRole('button', { name: 'Upload now' }).click();

  log('watch the history page in a second tab until the upload is forwarded');
  const history = await context.newPage();
  await history.goto('/history');
  await history.getByRole('heading', { name: 'Upload history' }).waitFor();
  const item = history.locator('li.history-item').first();
  await item.waitFor({ timeout: 60_000 });
  const deadline = Date.now() + FORWARD_TIMEOUT_MS;
  let state = await item.getAttribute('data-state');
  const seen = new Set([state]);
  while (state !== 'forwarded') {
    assert(state !== 'failed' && state !== 'expired', `upload ended ${state}`);
    assert(Date.now() < deadline, `still ${state} after ${FORWARD_TIMEOUT_MS} ms (seen: ${[...seen]})`);
    await history.waitForTimeout(500);
    state = await item.getAttribute('data-state');
    seen.add(state);
  }
  await item.getByText('Forwarded', { exact: true }).waitFor();
  const uploadId = await item.getAttribute('data-upload-id');

  log('the details show the PACS receipt');
  await item.getByRole('button', { name: /Show details/ }).click();
  await item.getByRole('table', { name: /PACS receipts/ }).waitFor({ timeout: 20_000 });

  return { uploadId, state, statesSeen: [...seen], files: files.length, prefilled, user: user.username };
});
