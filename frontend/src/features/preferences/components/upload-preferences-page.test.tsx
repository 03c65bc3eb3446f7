import { fireEvent, render, screen, waitFor } from '@testing-library/react';
import { beforeEach, describe, expect, it, vi } from 'vitest';

import { UploadPreferencesPage } from '@/features/preferences/components/upload-preferences-page';
import { db } from '@/lib/db';

const SERVER = {
  default_service_level: 'ROUTINE',
  chunk_size: 1048576,
  duplicate_check: true,
  notifications: {},
  chunk_size_limits: { min: 262144, max: 16777216, default: 1048576 },
};
const get = vi.fn();
const patch = vi.fn();
vi.mock('@/lib/auth', () => ({ useAuth: () => ({ status: 'signed-in', user: { id: 'user-1' } }) }));
vi.mock('@/lib/api-client', async (importOriginal) => ({
  ...(await importOriginal<typeof import('@/lib/api-client')>()),
  apiClient: { get: (...a: unknown[]) => get(...a), patch: (...a: unknown[]) => patch(...a) },
}));

beforeEach(async () => {
  await db.settings.clear();
  get.mockReset().mockResolvedValue({ data: SERVER });
  patch.mockReset();
});

describe('UploadPreferencesPage', () => {
  it('offers chunk sizes within the server bounds and shows a change at once, then "Saved."', async () => {
    let answer: (value: unknown) => void = () => undefined;
    patch.mockReturnValue(new Promise((resolve) => (answer = resolve)));
    render(<UploadPreferencesPage />);
    const stat = await screen.findByRole('radio', { name: /^Stat/ }, { timeout: 5000 });
    const options = [...(screen.getByLabelText('Chunk size') as HTMLSelectElement).options].map((o) => Number(o.value));
    expect(options).toEqual([262144, 524288, 1048576, 2097152, 4194304, 8388608, 16777216]);
    fireEvent.click(stat);
    expect(stat).toBeChecked();
    await waitFor(() => expect(patch).toHaveBeenCalledWith('/api/me/preferences', { default_service_level: 'STAT' }));
    answer({ data: { ...SERVER, default_service_level: 'STAT' } });
    await screen.findByText('Saved.');
    expect(stat).toBeChecked();
  });

  it('offline: the change is kept on this device and the screen says it will be sent later', async () => {
    await db.settings.put({ key: 'preferences:user-1', value: { server: SERVER, pending: null, refused: null }, updatedAt: 1 });
    vi.spyOn(navigator, 'onLine', 'get').mockReturnValue(false);
    render(<UploadPreferencesPage />);
    fireEvent.change(await screen.findByLabelText('Chunk size', {}, { timeout: 5000 }), { target: { value: '262144' } });
    await waitFor(() =>
      expect(screen.getByTestId('preferences-save-status')).toHaveTextContent(/sent when you are back online/),
    );
    await waitFor(() => expect(screen.getByTestId('preferences-pending')).toBeInTheDocument());
    expect(patch).not.toHaveBeenCalled();
    expect((screen.getByLabelText('Chunk size') as HTMLSelectElement).value).toBe('262144');
  });
});
