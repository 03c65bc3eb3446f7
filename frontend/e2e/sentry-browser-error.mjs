// A thrown error in the browser reaches Sentry (pytest's loopback stand-in, E2E_SENTRY_ORIGIN),
// after the user typed a patient name and ID into the upload form, with a token in the page's
// URL, in localStorage and in a console line. pytest reads what arrived and searches it.
import { assert, log, loginViaUi, newUser, registerViaApi, scenario, sleep } from './_lib.mjs';

const INGEST = process.env.E2E_SENTRY_ORIGIN;
const PATIENT_NAME = process.env.E2E_PATIENT_NAME;
const PATIENT_ID = process.env.E2E_PATIENT_ID;

async function waitFor(condition, what, timeoutMs = 20_000) {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

await scenario(async (t) => {
  assert(INGEST && PATIENT_NAME && PATIENT_ID, 'E2E_SENTRY_ORIGIN, E2E_PATIENT_NAME and E2E_PATIENT_ID');
  const user = await registerViaApi(newUser('sentry'));
  const { context } = await t.launch();
  const page = await context.newPage();
  const tokens = {};
  page.on('response', async (response) => {
    if (response.url().endsWith('/api/auth/login') && response.ok()) Object.assign(tokens, await response.json());
  });
  const sent = [];
  page.on('request', (request) => {
    if (request.url().startsWith(INGEST)) sent.push(request.url());
  });

  await loginViaUi(page, user);
  assert(tokens.access_token, 'the sign-in answer carried no access token');
  log('waiting for the SDK to start (its session envelope)');
  await waitFor(() => sent.length > 0, 'the first envelope (Sentry started)');

  await page.getByLabel('Patient name').fill(PATIENT_NAME);
  await page.getByLabel('Notes (optional)').fill(`MRN ${PATIENT_ID}, call ${user.email}`);
  await page.evaluate(
    ({ token, name }) => {
      history.replaceState(null, '', `/upload?token=${token}&patient=${encodeURIComponent(name)}#${token}`);
      localStorage.setItem('e2e-token', token);
      console.log(`typed ${name} with ${token}`);
    },
    { token: tokens.access_token, name: PATIENT_NAME },
  );
  const before = sent.length;
  log('throwing an uncaught error that quotes the form');
  await page.evaluate(() => {
    setTimeout(() => {
      const name = document.querySelector('input[id$="-patient"]')?.value;
      const notes = document.querySelector('textarea[id$="-notes"], input[id$="-notes"]')?.value;
      throw new TypeError(`could not send the study of ${name} (${notes})`);
    }, 0);
  });
  await waitFor(() => sent.length > before, 'the error event to be sent');
  await sleep(500);
  return {
    email: user.email,
    password: user.password,
    accessToken: tokens.access_token,
    refreshToken: tokens.refresh_token ?? '',
    envelopes: sent.length,
  };
});
