/**
 * What may leave the browser in an error report: Sentry's `beforeSend`,
 * `beforeSendTransaction` and `beforeBreadcrumb` hooks (the gateway's rules, ops/scrub.py).
 *
 * No exception messages (a thrown error may quote a patient name typed in a form), no console
 * output, no form values, no query strings or fragments (sign-in links and SSE tickets carry
 * tokens), no cookies, no request bodies, no user. What is kept says where and what kind of
 * fault it was: the error's type, its stack, the page's path, the HTTP method and status.
 * Every string kept is also cleaned of what looks like a token, an e-mail address or a DICOM
 * person name, and every value under a key naming a secret or a patient field is filtered.
 */
import type { BrowserOptions, Breadcrumb, ErrorEvent, Event } from '@sentry/react';

type TransactionEvent = Parameters<NonNullable<BrowserOptions['beforeSendTransaction']>>[0];

export const FILTERED = '[Filtered]';
export const WITHHELD = '(message withheld: it may carry patient data)';

const SENSITIVE_KEY =
  /pass(word|wd|phrase)?|secret|token|auth|cookie|session|csrf|api[-_]?key|private|credential|otp|totp|mfa|backup[-_]?code|signature|ticket|patient|name|birth|dob|mrn|accession|email|phone|address|notes?$|comment|query|body|arguments|input|value/i;
const SAFE_KEYS = new Set([
  'name',
  'type',
  'op',
  'status',
  'status_code',
  'method',
  'category',
  'level',
  'origin',
  'componentStack',
]);
const NAME_LIKE_KEY = /(patient|person|full|first|last|user)[-_]?name/i;
const BEARER = /\b(bearer|basic|token)\s+[A-Za-z0-9._~+/=-]{8,}/gi;
const JWT = /\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*/g;
const EMAIL = /[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}/g;
const PERSON_NAME = /[^\s"'/=&?^]*(\^|%5[eE])[^\s"'/&?]*/g;
const QUERY = /\?(?=[^\s"'#]*=)[^\s"'#]*/g;
// A URL's fragment ("/verify#token"), not a CSS id ("input#patient-name").
const FRAGMENT = /((?:[a-z][a-z0-9+.-]*:\/\/|\/)[^\s#"']*)#[^\s"']*/gi;
const URL_USERINFO = /(https?:\/\/)[^/\s@]+@/g;
const OPAQUE = /\b[A-Za-z0-9_-]{32,}\b/g;
const HEX_ID = /^([0-9a-f]{16}|[0-9a-f]{32}|[0-9a-f-]{36})$/;
// A CSS selector's attribute parts ([aria-label="…"], [title="…"]) may quote page text.
const ATTRIBUTE = /\[[^\]=]+=(?:"[^"]*"|'[^']*'|[^\]]*)\]/g;
const MAX_TEXT = 512;

function opaque(run: string): string {
  const secretLike = /\d/.test(run) && /[A-Za-z]/.test(run);
  return secretLike && !HEX_ID.test(run) ? FILTERED : run;
}

/** A string with credentials, person names, e-mail addresses and query strings removed. */
export function cleanText(text: string): string {
  return text
    .replace(URL_USERINFO, '$1')
    .replace(BEARER, (_match, scheme: string) => `${scheme} ${FILTERED}`)
    .replace(JWT, FILTERED)
    .replace(EMAIL, FILTERED)
    .replace(QUERY, `?${FILTERED}`)
    .replace(FRAGMENT, '$1')
    .replace(PERSON_NAME, FILTERED)
    .replace(OPAQUE, opaque)
    .slice(0, MAX_TEXT);
}

/** A URL without user info, query string or fragment. */
export function cleanUrl(url: string): string {
  return cleanText(url.split('#', 1)[0].split('?', 1)[0]);
}

function sensitive(key: string): boolean {
  if (NAME_LIKE_KEY.test(key)) return true;
  return !SAFE_KEYS.has(key) && SENSITIVE_KEY.test(key);
}

/** Any JSON-like value, recursively: sensitive keys filtered, strings cleaned. */
export function cleanValue(value: unknown, depth = 0): unknown {
  if (depth > 12) return FILTERED;
  if (typeof value === 'string') return cleanText(value);
  if (Array.isArray(value)) return value.map((item) => cleanValue(item, depth + 1));
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => [k, sensitive(k) ? FILTERED : cleanValue(v, depth + 1)]),
    );
  }
  return value;
}

function cleanRecord(value: unknown): Record<string, unknown> {
  const cleaned = cleanValue(value ?? {});
  return cleaned && typeof cleaned === 'object' ? (cleaned as Record<string, unknown>) : {};
}

const URL_KEYS = new Set(['url', 'http.url', 'from', 'to', 'server.address']);
const DROPPED_KEYS = new Set(['http.query', 'http.fragment', 'arguments', 'input']);

function cleanData(data: Record<string, unknown> | undefined): Record<string, unknown> {
  const kept: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(data ?? {})) {
    if (DROPPED_KEYS.has(key)) continue;
    if (URL_KEYS.has(key) && typeof value === 'string') kept[key] = cleanUrl(value);
    else kept[key] = sensitive(key) ? FILTERED : cleanValue(value);
  }
  return kept;
}

/** `beforeBreadcrumb`: console lines withheld, selectors without attributes, URLs without queries. */
export function scrubBreadcrumb(crumb: Breadcrumb): Breadcrumb {
  const category = crumb.category ?? '';
  let message = crumb.message;
  if (category === 'console') {
    message = message ? WITHHELD : message;
  } else if (category.startsWith('ui.') && message) {
    message = cleanText(message.replace(ATTRIBUTE, ''));
  } else if (message) {
    message = cleanText(message);
  }
  const data = category === 'console' ? {} : cleanData(crumb.data);
  return { ...crumb, message, data };
}

function cleanFrames(frames: { filename?: string; abs_path?: string; vars?: unknown }[] = []) {
  for (const frame of frames) {
    if (frame.filename) frame.filename = cleanUrl(frame.filename);
    if (frame.abs_path) frame.abs_path = cleanUrl(frame.abs_path);
    delete frame.vars;
  }
}

function scrubCommon<T extends Event>(event: T): T {
  for (const value of event.exception?.values ?? []) {
    if (value.value) value.value = WITHHELD;
    if (value.mechanism) delete value.mechanism.data;
    cleanFrames(value.stacktrace?.frames);
  }
  if (typeof event.message === 'string') event.message = cleanText(event.message);
  if (event.request) {
    const userAgent = event.request.headers?.['User-Agent'];
    event.request = {
      url: event.request.url ? cleanUrl(event.request.url) : undefined,
      method: event.request.method,
      headers: userAgent ? { 'User-Agent': userAgent } : {},
    };
  }
  event.user = {};
  if (event.transaction) event.transaction = cleanUrl(event.transaction);
  event.extra = cleanRecord(event.extra);
  event.tags = cleanRecord(event.tags) as T['tags'];
  event.contexts = cleanRecord(event.contexts) as T['contexts'];
  if (event.breadcrumbs) event.breadcrumbs = event.breadcrumbs.map(scrubBreadcrumb);
  for (const span of event.spans ?? []) {
    if (span.description) {
      const [method, ...rest] = span.description.split(' ');
      span.description = rest.length
        ? `${method} ${cleanUrl(rest.join(' '))}`
        : cleanUrl(span.description);
    }
    span.data = cleanData(span.data) as typeof span.data;
  }
  return event;
}

/** `beforeSend`. */
export function scrubEvent(event: ErrorEvent): ErrorEvent {
  return scrubCommon(event);
}

/** `beforeSendTransaction`. */
export function scrubTransaction(event: TransactionEvent): TransactionEvent {
  return scrubCommon(event);
}
