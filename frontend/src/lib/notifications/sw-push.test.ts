import { describe, expect, it, vi } from 'vitest';

import { notificationFor, openFromNotification, parsePushData, safeAppPath } from '@/lib/notifications/sw-push';

const ORIGIN = 'https://relay.example.org';

function windowClient(url: string) {
  const client = {
    url,
    focus: vi.fn(async () => client),
    navigate: vi.fn(async (next: string) => {
      client.url = next;
      return client;
    }),
  };
  return client;
}

describe('push messages', () => {
  it('shows the title and body, tags per report (else upload) and keeps the path to open', () => {
    const ready = notificationFor({
      type: 'report_ready',
      title: 'Report ready',
      body: 'The report for your CT study is ready.',
      url: '/reports/r1',
      report_id: 'r1',
      upload_id: 'u1',
    });
    expect(ready.title).toBe('Report ready');
    expect(ready.options).toMatchObject({ body: 'The report for your CT study is ready.', tag: 'report-r1', data: { url: '/reports/r1' } });
    expect(notificationFor({ title: 'Upload failed', url: '/history/u2', upload_id: 'u2' }).options.tag).toBe('upload-u2');
    expect(notificationFor({}).title).toBe('RelayPACS');
  });

  it('never opens another origin from a message', () => {
    expect(safeAppPath('https://evil.example/x')).toBe('/');
    expect(safeAppPath('//evil.example/x')).toBe('/');
    expect(safeAppPath('/\\evil.example')).toBe('/');
    expect(safeAppPath(undefined)).toBe('/');
    expect(safeAppPath('/history/u1')).toBe('/history/u1');
  });

  it('reads JSON, or falls back to the text as the body', () => {
    expect(parsePushData({ json: () => ({ title: 'A' }), text: () => '' })).toEqual({ title: 'A' });
    expect(
      parsePushData({
        json: () => {
          throw new SyntaxError('no');
        },
        text: () => 'plain',
      }),
    ).toEqual({ body: 'plain' });
    expect(parsePushData(null)).toEqual({});
  });
});

describe('notification click', () => {
  it('focuses an open window of the app and navigates it', async () => {
    const other = windowClient('https://elsewhere.example/');
    const app = windowClient(`${ORIGIN}/upload`);
    const clients = { matchAll: vi.fn(async () => [other, app]), openWindow: vi.fn() };
    await openFromNotification(clients, ORIGIN, '/reports/r1');
    expect(app.focus).toHaveBeenCalled();
    expect(app.navigate).toHaveBeenCalledWith(`${ORIGIN}/reports/r1`);
    expect(other.focus).not.toHaveBeenCalled();
    expect(clients.openWindow).not.toHaveBeenCalled();
  });

  it('opens a window when none is open, or when navigate() is refused', async () => {
    const clients = { matchAll: vi.fn(async () => []), openWindow: vi.fn(async () => null) };
    await openFromNotification(clients, ORIGIN, '/history/u1');
    expect(clients.openWindow).toHaveBeenCalledWith(`${ORIGIN}/history/u1`);

    const stubborn = windowClient(`${ORIGIN}/upload`);
    stubborn.navigate.mockRejectedValue(new TypeError('not controlled'));
    const more = { matchAll: vi.fn(async () => [stubborn]), openWindow: vi.fn(async () => null) };
    await openFromNotification(more, ORIGIN, '/reports/r2');
    expect(more.openWindow).toHaveBeenCalledWith(`${ORIGIN}/reports/r2`);
  });
});
