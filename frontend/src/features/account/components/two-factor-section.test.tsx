import { render, screen, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { MemoryRouter } from 'react-router-dom';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

import { TwoFactorSection } from '@/features/account/components/two-factor-section';
import type { MfaStatus } from '@/features/account/types/account';
import { clearSession, setSession } from '@/lib/api-client';
import { AuthProvider } from '@/lib/auth';
import { db } from '@/lib/db';
import { fakeApi, ME, tokenPair, type FakeRequest } from '@/testing/fake-api';

const CODES = Array.from({ length: 10 }, (_, i) => `abcde-fgh${String(i).padStart(2, '0')}`);
const NEW_CODES = Array.from({ length: 10 }, (_, i) => `zzzzz-yyy${String(i).padStart(2, '0')}`);
// What a hostile SVG could try: none of it may reach the page's DOM.
const QR_SVG = '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 10 10"><script>window.hacked = true</script><rect width="10" height="10"/></svg>';
const REAUTH = { status: 403, body: { error: { code: 'reauthentication_required', message: 'Confirm your password.' } } };

describe('TwoFactorSection', () => {
  let restore = () => {};
  let requests: FakeRequest[];
  let status: MfaStatus;
  let recent: boolean;

  beforeEach(async () => {
    status = { enabled: false, enabled_at: null, backup_codes_remaining: 0 };
    recent = true;
    await setSession(tokenPair(1));
    const api = fakeApi((request) => {
      if (request.url === '/api/auth/refresh') return { status: 200, body: tokenPair(2) };
      if (request.url === '/api/auth/me') return { status: 200, body: ME };
      if (request.url === '/api/auth/2fa') return { status: 200, body: status };
      if (request.url === '/api/auth/2fa/setup')
        return { status: 200, body: { secret: 'JBSWY3DPEHPK3PXP', otpauth_uri: 'otpauth://totp/x', qr_svg: QR_SVG } };
      if (request.url === '/api/auth/2fa/enable') {
        if ((request.body as { code: string }).code !== '123456')
          return { status: 403, body: { error: { code: 'invalid_mfa_code', message: 'The authentication code is wrong.' } } };
        status = { enabled: true, enabled_at: '2026-12-02T01:00:00Z', backup_codes_remaining: 10 };
        return { status: 200, body: { backup_codes: CODES } };
      }
      if (request.url === '/api/auth/2fa/backup-codes') {
        if (!recent) return REAUTH;
        return { status: 200, body: { backup_codes: NEW_CODES } };
      }
      if (request.url === '/api/auth/reauth') {
        recent = true;
        return { status: 200, body: { status: 'reauthenticated', valid_until: '2026-12-02T03:00:00Z' } };
      }
      if (request.url === '/api/auth/2fa/disable') {
        status = { enabled: false, enabled_at: null, backup_codes_remaining: 0 };
        return { status: 204 };
      }
      return { status: 404, body: {} };
    });
    requests = api.requests;
    restore = api.restore;
  });

  afterEach(async () => {
    restore();
    vi.restoreAllMocks();
    await clearSession();
    await db.cache.clear();
  });

  function renderSection() {
    return render(
      <AuthProvider>
        <MemoryRouter>
          <TwoFactorSection />
        </MemoryRouter>
      </AuthProvider>,
    );
  }

  async function storedText(): Promise<string> {
    const tables = await Promise.all(db.tables.map((table) => table.toArray()));
    return JSON.stringify(tables);
  }

  it('enables 2FA: the QR code as an inert image, the secret, a code, then the backup codes shown once', async () => {
    renderSection();
    expect(await screen.findByText('Off.')).toBeInTheDocument();
    await userEvent.click(screen.getByRole('button', { name: 'Set up two-factor authentication' }));

    const qr = await screen.findByRole('img', { name: /QR code/ });
    expect(qr.getAttribute('src')).toMatch(/^data:image\/svg\+xml;charset=utf-8,/);
    expect(decodeURIComponent(qr.getAttribute('src')!.split(',')[1]!)).toBe(QR_SVG);
    expect(document.querySelector('script')).toBeNull();
    expect(document.querySelector('svg')).toBeNull();
    expect(screen.getByLabelText('Secret key for manual entry')).toHaveTextContent('JBSW Y3DP EHPK 3PXP');

    await userEvent.type(screen.getByLabelText('Code from the app'), '000000');
    await userEvent.click(screen.getByRole('button', { name: 'Turn on two-factor authentication' }));
    expect(await screen.findByRole('alert')).toHaveTextContent('The authentication code is wrong.');
    await userEvent.clear(screen.getByLabelText('Code from the app'));
    await userEvent.type(screen.getByLabelText('Code from the app'), '123 456');
    await userEvent.click(screen.getByRole('button', { name: 'Turn on two-factor authentication' }));

    const list = await screen.findByRole('list', { name: 'Backup codes' });
    expect(within(list).getAllByRole('listitem').map((item) => item.textContent)).toEqual(CODES);
    expect(screen.getByRole('button', { name: 'Download as text file' })).toBeInTheDocument();
    // Shown, never stored: not in IndexedDB (the app's offline store).
    expect(await storedText()).not.toContain(CODES[0]);

    await userEvent.click(screen.getByRole('button', { name: 'I have saved my codes' }));
    expect(screen.queryByRole('list', { name: 'Backup codes' })).not.toBeInTheDocument();
    expect(screen.queryByText(CODES[0]!)).not.toBeInTheDocument();
    expect(await screen.findByText('10')).toBeInTheDocument(); // backup codes left
    expect(screen.getByText('On')).toBeInTheDocument();
    // Nothing brings them back: no button shows codes without making a new set.
    expect(screen.queryByRole('button', { name: /show.*codes/i })).not.toBeInTheDocument();
    expect(requests.filter((request) => request.url === '/api/auth/2fa/enable')).toHaveLength(2);
  });

  it('copies the codes to the clipboard and offers them as a .txt download', async () => {
    const writeText = vi.fn().mockResolvedValue(undefined);
    Object.defineProperty(navigator, 'clipboard', { value: { writeText }, configurable: true });
    const created: Blob[] = [];
    URL.createObjectURL = vi.fn((blob: Blob) => {
      created.push(blob);
      return 'blob:codes';
    });
    URL.revokeObjectURL = vi.fn();
    const clicked = vi.spyOn(HTMLAnchorElement.prototype, 'click').mockImplementation(function (this: HTMLAnchorElement) {
      expect(this.download).toBe('relaypacs-backup-codes.txt');
    });
    status = { enabled: true, enabled_at: '2026-12-02T01:00:00Z', backup_codes_remaining: 3 };
    renderSection();
    await userEvent.click(await screen.findByRole('button', { name: 'Generate new backup codes' }));
    await screen.findByRole('list', { name: 'Backup codes' });

    await userEvent.click(screen.getByRole('button', { name: 'Copy codes' }));
    expect(writeText).toHaveBeenCalledWith(NEW_CODES.join('\n'));
    expect(await screen.findByText('Copied to the clipboard.')).toBeInTheDocument();

    await userEvent.click(screen.getByRole('button', { name: 'Download as text file' }));
    expect(clicked).toHaveBeenCalledTimes(1);
    expect(created[0]!.type).toBe('text/plain');
    const text = await created[0]!.text();
    for (const code of NEW_CODES) expect(text).toContain(`\n${code}`);
  });

  it('regenerating backup codes asks for the password (and code) when the sign-in is old, then retries', async () => {
    status = { enabled: true, enabled_at: '2026-12-02T01:00:00Z', backup_codes_remaining: 1 };
    recent = false;
    renderSection();
    expect(await screen.findByText(/Generate new ones before you run out/)).toBeInTheDocument();
    await userEvent.click(screen.getByRole('button', { name: 'Generate new backup codes' }));

    const dialog = await screen.findByRole('dialog', { name: "Confirm it's you" });
    await userEvent.type(within(dialog).getByLabelText('Your password'), 'my current password');
    await userEvent.type(within(dialog).getByLabelText('Authentication code'), '654321');
    await userEvent.click(within(dialog).getByRole('button', { name: 'Confirm' }));

    const list = await screen.findByRole('list', { name: 'Backup codes' });
    expect(within(list).getAllByRole('listitem')).toHaveLength(10);
    expect(requests.filter((request) => request.url === '/api/auth/2fa/backup-codes')).toHaveLength(2);
    expect(requests.find((request) => request.url === '/api/auth/reauth')?.body).toEqual({
      password: 'my current password',
      code: '654321',
    });
  });

  it('cancelling the password check changes nothing and shows no error', async () => {
    status = { enabled: true, enabled_at: '2026-12-02T01:00:00Z', backup_codes_remaining: 8 };
    recent = false;
    renderSection();
    await userEvent.click(await screen.findByRole('button', { name: 'Generate new backup codes' }));
    await userEvent.click(within(await screen.findByRole('dialog')).getByRole('button', { name: 'Cancel' }));
    expect(screen.queryByRole('dialog')).not.toBeInTheDocument();
    expect(screen.queryByRole('alert')).not.toBeInTheDocument();
    expect(screen.queryByRole('list', { name: 'Backup codes' })).not.toBeInTheDocument();
    expect(requests.filter((request) => request.url === '/api/auth/2fa/backup-codes')).toHaveLength(1);
  });

  it('turns 2FA off with a current code', async () => {
    status = { enabled: true, enabled_at: '2026-12-02T01:00:00Z', backup_codes_remaining: 8 };
    renderSection();
    await userEvent.type(await screen.findByLabelText('Current code from your authenticator app'), '222333');
    await userEvent.click(screen.getByRole('button', { name: 'Turn off two-factor authentication' }));
    expect(await screen.findByText('Two-factor authentication is off.')).toBeInTheDocument();
    expect(await screen.findByText('Off.')).toBeInTheDocument();
    expect(requests.find((request) => request.url === '/api/auth/2fa/disable')?.body).toEqual({ code: '222333' });
  });
});
