// Shared helpers for the browser scenarios (run by tests/e2e via pytest; see tests/e2e/README.md).
// Each scenario: `await scenario(async (t) => { ...; return {json result} })`.
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { chromium } from 'playwright-core';

export const BASE_URL = need('E2E_BASE_URL');
export const ARTIFACTS = need('E2E_ARTIFACTS');
export const MAIL_URL = process.env.E2E_MAIL_URL ?? '';
export const CHROMIUM = process.env.E2E_CHROMIUM ?? '/usr/bin/chromium';
const PROFILES = process.env.E2E_USER_DATA_ROOT ?? path.join(ARTIFACTS, 'profiles');

export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-quic',
  '--no-first-run',
  '--disable-component-update',
  '--disable-sync',
];

export const PHONE = { width: 390, height: 844 };
export const DESKTOP = { width: 1366, height: 900 };

function need(name) {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set (run the scenario through pytest tests/e2e)`);
  return value;
}

export function log(...args) {
  console.error(`[${new Date().toISOString()}]`, ...args);
}

export function artifact(name) {
  mkdirSync(ARTIFACTS, { recursive: true });
  return path.join(ARTIFACTS, name);
}

/** A fresh, throw-away Chromium profile directory (for launchPersistentContext). */
export function newProfileDir(label = 'profile') {
  mkdirSync(PROFILES, { recursive: true });
  return mkdtempSync(path.join(PROFILES, `${label}-`));
}

/** A browser context; `profileDir` makes it persistent (survives a close + relaunch). */
export async function launch({ profileDir, viewport = DESKTOP, ...options } = {}) {
  if (profileDir) {
    const context = await chromium.launchPersistentContext(profileDir, {
      executablePath: CHROMIUM,
      headless: true,
      args: CHROMIUM_ARGS,
      viewport,
      baseURL: BASE_URL,
      ...options,
    });
    return { context, browser: null, close: () => context.close() };
  }
  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
  const context = await browser.newContext({ viewport, baseURL: BASE_URL, ...options });
  return { context, browser, close: () => browser.close() };
}

/** Collect page errors and console errors of a page (attached to the failure report). */
export function watchConsole(page, sink) {
  page.on('pageerror', (error) => sink.push(`pageerror: ${error.message}`));
  page.on('console', (message) => {
    if (message.type() === 'error') sink.push(`console: ${message.text()}`);
  });
}

/**
 * Run a scenario: prints the returned object as JSON on the last stdout line, exit 0.
 * On error: a screenshot of every open page (failure-N.png), the console log, and exit 1.
 */
export async function scenario(body) {
  const open = new Set();
  const consoleLines = [];
  const t = {
    consoleLines,
    async launch(options) {
      const handle = await launch(options);
      open.add(handle);
      handle.context.on('page', (page) => watchConsole(page, consoleLines));
      for (const page of handle.context.pages()) watchConsole(page, consoleLines);
      const close = handle.close;
      handle.close = async () => {
        open.delete(handle);
        await close();
      };
      return handle;
    },
  };
  try {
    const result = await body(t);
    for (const handle of [...open]) await handle.close();
    process.stdout.write(`${JSON.stringify(result ?? {})}\n`);
    process.exit(0);
  } catch (error) {
    console.error(error?.stack ?? String(error));
    let index = 0;
    for (const handle of open) {
      for (const page of handle.context.pages()) {
        index += 1;
        try {
          await page.screenshot({ path: artifact(`failure-${index}.png`), fullPage: true });
          console.error(`failure page ${index}: ${page.url()}`);
        } catch {
          // the page may be gone
        }
      }
    }
    if (consoleLines.length) console.error(`browser console:\n${consoleLines.join('\n')}`);
    writeFileSync(artifact('failure.txt'), `${error?.stack ?? error}\n\n${consoleLines.join('\n')}\n`);
    for (const handle of open) await handle.close().catch(() => {});
    process.exit(1);
  }
}

export function assert(condition, message) {
  if (!condition) throw new Error(`assertion failed: ${message}`);
}

export async function sleep(ms) {
  await new Promise((resolve) => setTimeout(resolve, ms));
}

/** A new user (unique per run) that satisfies the password policy. */
export function newUser(prefix = 'e2e') {
  const id = `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
  return {
    username: `${prefix}_${id}`,
    email: `${prefix}.${id}@example.org`,
    fullName: `E2E ${prefix} ${id}`,
    role: 'radiographer',
    password: `Tr0ub4dor&3-${id}-horse-battery`,
  };
}

/** Poll the SMTP sink (over HTTP) until a message to `to` arrives; returns it. */
export async function waitForMail(to, { timeoutMs = 20_000 } = {}) {
  assert(MAIL_URL, 'E2E_MAIL_URL is not set');
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const messages = await (await fetch(MAIL_URL)).json();
    const found = messages.filter((m) => m.to.includes(to));
    if (found.length) return found[found.length - 1];
    if (Date.now() > deadline) throw new Error(`no mail to ${to} within ${timeoutMs} ms`);
    await sleep(200);
  }
}

/** The verification link of the last mail to `to`. */
export async function verificationLink(to) {
  const mail = await waitForMail(to);
  const match = mail.text.match(/https?:\/\/\S+verify-email\?token=[A-Za-z0-9_-]+/);
  assert(match, `no verification link in: ${mail.text}`);
  return match[0];
}

/** Register and verify through the API (for scenarios that test something else). */
export async function registerViaApi(user) {
  const response = await fetch(`${BASE_URL}/api/auth/register`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({
      email: user.email,
      username: user.username,
      full_name: user.fullName,
      role: user.role,
      password: user.password,
    }),
  });
  assert(response.status === 202, `register answered ${response.status}: ${await response.text()}`);
  const link = await verificationLink(user.email);
  const verified = await fetch(link, { headers: { Accept: 'application/json' } });
  assert(verified.ok, `verification answered ${verified.status}`);
  return user;
}

/** Register through the UI (the registration form). */
export async function registerViaUi(page, user) {
  await page.goto('/register');
  await page.getByLabel('Full name').fill(user.fullName);
  await page.getByLabel('Email').fill(user.email);
  await page.getByLabel('Username').fill(user.username);
  // No facility exists on a fresh gateway: register without one ("None for now").
  await page.getByLabel('Facility').selectOption('');
  await page.getByLabel('Role').selectOption(user.role);
  await page.getByLabel('Password', { exact: true }).fill(user.password);
  await page.getByRole('button', { name: 'Create account' }).click();
  await page.getByRole('heading', { name: 'Check your email' }).waitFor();
}

/**
 * Sign in through the UI; resolves on the user's landing page: `/upload`, or for an admin
 * `landing: '/dashboard'` (`landing: null` accepts any page but the login).
 */
export async function loginViaUi(page, user, { landing = '/upload' } = {}) {
  await page.goto('/login');
  await page.getByLabel('Username or email').fill(user.username);
  await page.getByLabel('Password', { exact: true }).fill(user.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL((url) => (landing ? url.pathname === landing : !['/login', '/'].includes(url.pathname)), {
    timeout: 20_000,
  });
}

/** Wait until a service worker controls the page (reloading once if needed). */
export async function waitForServiceWorker(page, { timeoutMs = 20_000 } = {}) {
  await page.evaluate(async () => {
    await navigator.serviceWorker.ready;
  });
  if (!(await page.evaluate(() => Boolean(navigator.serviceWorker.controller)))) {
    await page.waitForFunction(() => Boolean(navigator.serviceWorker.controller), null, {
      timeout: timeoutMs,
    });
  }
}

/** Assert a screenshot file is a non-empty PNG. */
export function isPng(buffer) {
  return buffer.length > 8 && buffer.subarray(0, 8).equals(Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]));
}
