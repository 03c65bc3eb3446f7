// Offline in the middle of an upload, then back online: the upload completes.
import { assert, loginViaUi, log, newUser, registerViaApi, scenario, sleep } from './_lib.mjs';
import {
  countChunks,
  formValues,
  pickFiles,
  queueRows,
  setChunkSize,
  slowChunks,
  studyFiles,
  waitFor,
  waitForState,
} from './upload-helpers.mjs';

const TOTAL_CHUNKS = Number(process.env.E2E_TOTAL_CHUNKS);
const CHUNK_SIZE = Number(process.env.E2E_CHUNK_SIZE);

await scenario(async (t) => {
  const user = await registerViaApi(newUser('offline'));
  await setChunkSize(user, CHUNK_SIZE);
  const { context } = await t.launch();
  const counts = countChunks(context);
  await slowChunks(context, 150);
  const page = await context.newPage();
  await loginViaUi(page, user);

  const files = studyFiles();
  await pickFiles(page, files);
  const prefill = await formValues(page);
  await page.getByRole('button', { name: 'Upload now' }).click();

  await waitFor(() => counts.acknowledged >= Math.ceil(TOTAL_CHUNKS / 4), 'a quarter of the chunks');
  await context.setOffline(true);
  const ackAtOffline = counts.acknowledged;
  log(`offline after ${ackAtOffline}/${TOTAL_CHUNKS} chunks`);
  await page.getByRole('button', { name: 'Upload now' }).and(page.locator(':disabled')).waitFor();
  await page.getByText('Queued — will resume when online').waitFor({ timeout: 30_000 });
  const whileOffline = await queueRows(page);
  assert(whileOffline.entries.length === 1, `one queue entry, got ${JSON.stringify(whileOffline)}`);
  assert(whileOffline.entries[0].state === 'uploading', `entry state ${whileOffline.entries[0].state}`);
  assert(whileOffline.blobs === files.length, `every file kept in IndexedDB: ${whileOffline.blobs}`);
  await sleep(1500);
  const ackBeforeOnline = counts.acknowledged;

  await context.setOffline(false);
  const item = await waitForState(page, 'completed');
  const uploadId = await item.getAttribute('data-upload-id');
  // The page itself or the service worker (Background Sync fires when the network returns)
  // finishes it, whichever takes the upload's lock first; either way the user is told.
  const toast = page.getByTestId('upload-toast').filter({ hasText: /Upload complete|finished in the background/ });
  const toastText = await toast.first().innerText();
  const after = await queueRows(page);
  assert(after.blobs === 0, `Blobs deleted after completion, ${after.blobs} left`);
  return {
    user: { username: user.username, password: user.password },
    uploadId,
    prefill,
    counts,
    ackAtOffline,
    ackBeforeOnline,
    toastText,
    totalChunks: TOTAL_CHUNKS,
  };
});
