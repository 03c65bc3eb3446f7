import { render, screen } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

import { PushToggle } from '@/features/notifications/components/push-toggle';
import { urlBase64ToBytes } from '@/features/notifications/utils/push';
import { clearSession, setSession } from '@/lib/api-client';
import { fakeApi, tokenPair, type FakeRequest } from '@/testing/fake-api';

// A 65-byte uncompressed P-256 point, base64url (what `relaypacs push keys` prints).
const PUBLIC_KEY = 'BEl62iUYgUivxIkv69yViEuiBIa-Ib9-SkvMeAtA3LFgDzkrxZJjSgSnfckjBJuBkr3qBUYIHBQFLXYp5Nksh8U';

describe('PushToggle', () => {
  let restore = () => {};
  let requests: FakeRequest[];
  let subscription: { endpoint: string; toJSON: () => unknown; unsubscribe: ReturnType<typeof vi.fn>; options: object } | null;
  const subscribe = vi.fn();
  const requestPermission = vi.fn();

  beforeEach(async () => {
    subscription = null;
    subscribe.mockReset().mockImplementation(async () => {
      subscription = {
        endpoint: 'https://push.example.org/send/abc',
        options: {},
        toJSON: () => ({
          endpoint: 'https://push.example.org/send/abc',
          expirationTime: null,
          keys: { p256dh: 'BPk', auth: 'c2VjcmV0' },
        }),
        unsubscribe: vi.fn(async () => {
          subscription = null;
          return true;
        }),
      };
      return subscription;
    });
    requestPermission.mockReset().mockResolvedValue('granted');
    const pushManager = { subscribe, getSubscription: vi.fn(async () => subscription) };
    Object.defineProperty(navigator, 'serviceWorker', {
      configurable: true,
      value: { ready: Promise.resolve({ pushManager }) },
    });
    vi.stubGlobal('PushManager', function PushManager() {});
    vi.stubGlobal('Notification', Object.assign(function Notification() {}, { permission: 'default', requestPermission }));
    await setSession(tokenPair(1));
    const api = fakeApi((request) => {
      if (request.url === '/api/notifications/push-config') return { status: 200, body: { enabled: true, public_key: PUBLIC_KEY } };
      if (request.url === '/api/notifications/push-subscriptions') return { status: request.method === 'POST' ? 201 : 204, body: {} };
      return { status: 404, body: {} };
    });
    requests = api.requests;
    restore = api.restore;
  });

  afterEach(async () => {
    restore();
    vi.unstubAllGlobals();
    await clearSession();
  });

  it('subscribes with the server key and registers the subscription; off unsubscribes and deletes it', async () => {
    render(<PushToggle />);
    const toggle = await screen.findByRole('checkbox', { name: 'Notify me on this device' });
    expect(toggle).not.toBeChecked();

    await userEvent.click(toggle);
    expect(await screen.findByText(/will be notified even when the app is closed/)).toBeInTheDocument();
    expect(toggle).toBeChecked();
    expect(requestPermission).toHaveBeenCalledTimes(1);
    const options = subscribe.mock.calls[0]![0] as PushSubscriptionOptionsInit;
    expect(options.userVisibleOnly).toBe(true);
    expect(Array.from(options.applicationServerKey as Uint8Array)).toEqual(Array.from(urlBase64ToBytes(PUBLIC_KEY)));
    expect((options.applicationServerKey as Uint8Array).length).toBe(65);
    const saved = requests.find((request) => request.method === 'POST' && request.url === '/api/notifications/push-subscriptions');
    expect(saved?.body).toEqual({
      endpoint: 'https://push.example.org/send/abc',
      expirationTime: null,
      keys: { p256dh: 'BPk', auth: 'c2VjcmV0' },
    });

    const unsubscribe = subscription!.unsubscribe;
    await userEvent.click(toggle);
    expect(await screen.findByText(/will no longer be notified/)).toBeInTheDocument();
    expect(unsubscribe).toHaveBeenCalledTimes(1);
    const deleted = requests.find((request) => request.method === 'DELETE');
    expect(deleted?.body).toEqual({ endpoint: 'https://push.example.org/send/abc' });
    expect(toggle).not.toBeChecked();
  });

  it('says so when the permission is refused, and subscribes nothing', async () => {
    requestPermission.mockResolvedValue('denied');
    render(<PushToggle />);
    await userEvent.click(await screen.findByRole('checkbox', { name: 'Notify me on this device' }));
    expect(await screen.findByText(/Notifications are blocked/)).toBeInTheDocument();
    expect(subscribe).not.toHaveBeenCalled();
    expect(requests.some((request) => request.method === 'POST')).toBe(false);
  });

  it('is hidden when the server has no VAPID keys', async () => {
    restore();
    restore = fakeApi(() => ({ status: 200, body: { enabled: false, public_key: null } })).restore;
    const { container } = render(<PushToggle />);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(container).toBeEmptyDOMElement();
  });
});
