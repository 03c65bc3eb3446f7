// Queue an upload while offline, close the browser, reopen it online: the upload is sent.
import { assert, loginViaUi, newProfileDir, newUser, registerViaApi, scenario, sleep } from './_lib.mjs';
import { countChunks, pickFiles, queueRows, studyFiles, waitForState } from './upload-helpers.mjs';

await scenario(async (t) => {
  const user = await registerViaApi(newUser('queued'));
  const profileDir = newProfileDir('queued');

  // 1. Signed in, then offline: "Upload now" is disabled and "Queue for later" is offered.
  const first = await t.launch({ profileDir });
  const firstCounts = countChunks(first.context);
  const page = await first.context.newPage();
  await loginViaUi(page, user);
  const files = studyFiles();
  const skipped = process.env.E2E_NOT_DICOM ? [process.env.E2E_NOT_DICOM] : [];
  await first.context.setOffline(true);
  await pickFiles(page, [...files, ...skipped]);
  if (skipped.length) {
    await page.getByTestId('upload-skipped').filter({ hasText: '1 file skipped' }).waitFor();
  }
  const uploadNow = page.getByRole('button', { name: 'Upload now' });
  assert(await uploadNow.isDisabled(), '"Upload now" is disabled while offline');
  await page.getByRole('button', { name: 'Queue for later' }).click();
  await page.getByText('Queued — will send when online').waitFor();
  const queued = await queueRows(page);
  assert(queued.entries.length === 1 && queued.entries[0].state === 'pending', JSON.stringify(queued));
  assert(queued.blobs === files.length, `only the DICOM files are kept: ${queued.blobs}`);
  await sleep(500);
  await first.close();
  assert(firstCounts.requests === 0, `no chunk sent while offline (${firstCounts.requests})`);

  // 2. Reopened online with the same profile: the queued study goes without any user action.
  const second = await t.launch({ profileDir });
  const counts = countChunks(second.context);
  const reopened = second.context.pages()[0] ?? (await second.context.newPage());
  await reopened.goto('/upload');
  await reopened.waitForURL((url) => url.pathname === '/upload');
  const item = await waitForState(reopened, 'completed');
  const uploadId = await item.getAttribute('data-upload-id');
  const after = await queueRows(reopened);
  assert(after.blobs === 0, `Blobs deleted after completion, ${after.blobs} left`);
  return {
    user: { username: user.username, password: user.password },
    uploadId,
    counts,
    queued,
  };
});
