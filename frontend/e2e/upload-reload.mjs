// Reload the page in the middle of an upload: it resumes from GET …/status, not from zero.
import { artifact, assert, DESKTOP, loginViaUi, log, newUser, PHONE, registerViaApi, scenario } from './_lib.mjs';
import {
  countChunks,
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
  const user = await registerViaApi(newUser('reload'));
  await setChunkSize(user, CHUNK_SIZE);
  const { context } = await t.launch();
  const counts = countChunks(context);
  const statusCalls = [];
  context.on('request', (r) => {
    if (/\/api\/upload\/[^/]+\/status$/.test(new URL(r.url()).pathname)) statusCalls.push(r.url());
  });
  await slowChunks(context, 150);
  const page = await context.newPage();
  await loginViaUi(page, user);

  const files = studyFiles();
  const selection = await pickFiles(page, files);
  await page.setViewportSize(PHONE);
  await page.screenshot({ path: artifact('upload-screen-phone.png'), fullPage: true });
  await page.setViewportSize(DESKTOP);
  await page.screenshot({ path: artifact('upload-screen-desktop.png'), fullPage: true });
  await page.getByRole('button', { name: 'Upload now' }).click();

  await waitFor(() => counts.acknowledged >= Math.ceil(TOTAL_CHUNKS / 2), 'half of the chunks');
  const requestsBeforeReload = counts.requests;
  log(`reloading after ${counts.acknowledged}/${TOTAL_CHUNKS} acknowledged chunks`);
  await page.reload();
  await page.waitForURL((url) => url.pathname === '/upload');
  const item = await waitForState(page, 'completed');
  const uploadId = await item.getAttribute('data-upload-id');
  const after = await queueRows(page);
  assert(after.blobs === 0, `Blobs deleted after completion, ${after.blobs} left`);
  return {
    user: { username: user.username, password: user.password },
    uploadId,
    selection,
    counts,
    requestsBeforeReload,
    statusCalls: statusCalls.length,
    totalChunks: TOTAL_CHUNKS,
  };
});
