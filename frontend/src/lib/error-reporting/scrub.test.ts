import type { Breadcrumb, ErrorEvent } from '@sentry/react';
import { describe, expect, it } from 'vitest';

import {
  FILTERED,
  WITHHELD,
  cleanText,
  scrubBreadcrumb,
  scrubEvent,
  scrubTransaction,
} from '@/lib/error-reporting/scrub';

const NAME = 'Ravenscroft^Isadora';
const PATIENT_ID = 'MRN44190275';
const TOKEN = 'Xk2p9QvL7mTw3RzY8nB4cD6fG1hJ5kS0aE_-uIoPqWe';
const JWT = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U';

function leaks(value: unknown): string[] {
  const text = JSON.stringify(value).toLowerCase();
  return [NAME, 'Ravenscroft', 'Isadora', PATIENT_ID, TOKEN, JWT, 'isa@example.org'].filter((s) =>
    text.includes(s.toLowerCase()),
  );
}

function event(): ErrorEvent {
  return {
    type: undefined,
    message: `upload failed for ${NAME}`,
    exception: {
      values: [
        {
          type: 'SyntaxError',
          value: `Unexpected token 'R', "${NAME}" is not valid JSON`,
          mechanism: { type: 'onerror', handled: false, data: { patient: NAME } },
          stacktrace: {
            frames: [
              {
                filename: `https://gw.example.org/assets/index-abc.js?token=${TOKEN}`,
                function: 'submit',
                lineno: 1,
                colno: 20,
              },
            ],
          },
        },
      ],
    },
    request: {
      url: `https://gw.example.org/verify-email?token=${TOKEN}#patient=${NAME}`,
      headers: { 'User-Agent': 'Mozilla/5.0', Referer: `https://gw.example.org/upload?p=${NAME}` },
      cookies: { refresh: TOKEN },
      query_string: `token=${TOKEN}`,
      data: { patientName: NAME },
    },
    user: { email: 'isa@example.org', ip_address: '203.0.113.1' },
    extra: { patientId: PATIENT_ID, accessToken: JWT, page: '/upload' },
    tags: { route: '/upload', who: `${NAME}` },
    contexts: { react: { componentStack: '\n    at UploadForm\n    at App' } },
    breadcrumbs: [
      { category: 'console', level: 'log', message: `patient ${NAME}`, data: { arguments: [NAME] } },
      {
        category: 'ui.input',
        message: `form.upload > input#patient-name[name="patientName"][aria-label="${NAME}"]`,
      },
      {
        category: 'fetch',
        type: 'http',
        data: {
          method: 'PUT',
          url: `/api/upload/3f2b8c1e-0d4a-4c7b-9e21-7a6f5d4c3b2a/chunk?file=0&index=3&token=${TOKEN}`,
          status_code: 200,
        },
      },
      {
        category: 'navigation',
        data: { from: `/verify-email?token=${TOKEN}`, to: `/notifications/stream?ticket=${TOKEN}` },
      },
    ],
  };
}

describe('scrubEvent', () => {
  it('keeps the type, the stack and the path, and nothing a user sent, typed or logged', () => {
    const scrubbed = scrubEvent(event());

    expect(leaks(scrubbed)).toEqual([]);
    const [value] = scrubbed.exception!.values!;
    expect(value.type).toBe('SyntaxError');
    expect(value.value).toBe(WITHHELD);
    expect(value.stacktrace!.frames![0]).toMatchObject({
      filename: 'https://gw.example.org/assets/index-abc.js',
      function: 'submit',
    });
    expect(scrubbed.request).toEqual({
      url: 'https://gw.example.org/verify-email',
      method: undefined,
      headers: { 'User-Agent': 'Mozilla/5.0' },
    });
    expect(scrubbed.user).toEqual({});
    expect(scrubbed.extra).toEqual({ patientId: FILTERED, accessToken: FILTERED, page: '/upload' });
    expect(scrubbed.contexts).toEqual({ react: { componentStack: '\n    at UploadForm\n    at App' } });
    const [consoleCrumb, input, fetchCrumb, navigation] = scrubbed.breadcrumbs as Breadcrumb[];
    expect(consoleCrumb).toMatchObject({ message: WITHHELD, data: {} });
    expect(input.message).toBe('form.upload > input#patient-name');
    expect(fetchCrumb.data).toEqual({
      method: 'PUT',
      url: '/api/upload/3f2b8c1e-0d4a-4c7b-9e21-7a6f5d4c3b2a/chunk',
      status_code: 200,
    });
    expect(navigation.data).toEqual({ from: '/verify-email', to: '/notifications/stream' });
  });
});

describe('scrubBreadcrumb', () => {
  it('withholds console output and strips selector attributes and URL queries', () => {
    expect(scrubBreadcrumb({ category: 'console', message: `x ${NAME}`, data: { arguments: [NAME] } })).toEqual({
      category: 'console',
      message: WITHHELD,
      data: {},
    });
    expect(
      scrubBreadcrumb({ category: 'ui.click', message: `button.primary[title="Send ${NAME}"]` }).message,
    ).toBe('button.primary');
    expect(
      scrubBreadcrumb({ category: 'xhr', data: { url: `/api/x?patient=${NAME}`, 'http.query': `patient=${NAME}` } })
        .data,
    ).toEqual({ url: '/api/x' });
  });
});

describe('scrubTransaction', () => {
  it('cleans span descriptions and data', () => {
    const scrubbed = scrubTransaction({
      type: 'transaction',
      transaction: `/verify-email?token=${TOKEN}`,
      spans: [
        {
          span_id: '1',
          trace_id: 'a'.repeat(32),
          start_timestamp: 0,
          status: 'ok',
          description: `GET /api/uploads?patient=${NAME}`,
          data: { 'http.query': `?patient=${NAME}`, url: `/api/uploads?patient=${NAME}`, 'http.method': 'GET' },
        },
      ],
    });

    expect(scrubbed.transaction).toBe('/verify-email');
    expect(scrubbed.spans![0].description).toBe('GET /api/uploads');
    expect(scrubbed.spans![0].data).toEqual({ url: '/api/uploads', 'http.method': 'GET' });
    expect(leaks(scrubbed)).toEqual([]);
  });
});

describe('cleanText', () => {
  it.each([
    [`Bearer ${JWT}`, `Bearer ${FILTERED}`],
    [`study of ${NAME} failed`, `study of ${FILTERED} failed`],
    ['mail isa@example.org now', `mail ${FILTERED} now`],
    [`upload ${TOKEN}`, `upload ${FILTERED}`],
    ['Cannot read properties of undefined', 'Cannot read properties of undefined'],
    ['is it ready? yes', 'is it ready? yes'],
  ])('%s', (text, expected) => {
    expect(cleanText(text)).toBe(expected);
  });
});
