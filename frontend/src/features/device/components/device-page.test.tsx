import { File as NodeFile } from 'node:buffer';

import { fireEvent, render, screen, waitFor, within } from '@testing-library/react';
import { beforeEach, describe, expect, it, vi } from 'vitest';

import { DevicePage } from '@/features/device/components/device-page';
import { db } from '@/lib/db';
import { enqueue, updateEntry } from '@/lib/upload/queue-store';

const metadata = { patient_name: 'ROE^ANN', study_date: '2026-01-15', modality: 'CT', service_level: 'ROUTINE' } as const;

async function queueStudy(bytes: number) {
  const file = new NodeFile([new Uint8Array(bytes)], 'a.dcm') as unknown as File;
  return enqueue({ metadata, files: [file], ownerId: 'user-1' });
}

beforeEach(async () => {
  await Promise.all([db.queue.clear(), db.blobs.clear(), db.cache.clear(), db.settings.clear()]);
  await db.cache.put({ key: 'reports', value: [1], updatedAt: 1 });
  Object.defineProperty(navigator, 'storage', {
    configurable: true,
    value: {
      estimate: async () => ({ usage: 5_000_000, quota: 100_000_000 }),
      persisted: async () => false,
      persist: vi.fn(async () => true),
    },
  });
});

describe('DevicePage: Clear local data', () => {
  it('counts the queued uploads not yet sent, and Cancel keeps every one', async () => {
    await queueStudy(2000);
    await queueStudy(3000);
    const sent = await queueStudy(100);
    await updateEntry(sent.id, { state: 'completed' });
    render(<DevicePage />);
    await waitFor(() =>
      expect(screen.getByTestId('storage-queue')).toHaveTextContent('5.1 kB (2 queued uploads not sent yet)'),
    );

    fireEvent.click(screen.getByRole('button', { name: 'Clear local data…' }));
    const dialog = await screen.findByRole('alertdialog', { name: 'Clear local data?' });
    expect(within(dialog).getByTestId('clear-data-loss')).toHaveTextContent(
      '2 queued uploads have not been fully sent and would be lost.',
    );
    expect(within(dialog).getByRole('button', { name: 'Cancel, keep everything' })).toHaveFocus();
    expect(within(dialog).getByRole('button', { name: 'Delete 2 queued uploads and clear' })).toBeInTheDocument();

    fireEvent.click(within(dialog).getByRole('button', { name: 'Cancel, keep everything' }));
    expect(screen.queryByRole('alertdialog')).not.toBeInTheDocument();
    expect(await db.queue.count()).toBe(3);
    expect(await db.blobs.count()).toBe(3);
    expect(await db.cache.count()).toBe(1);
  });

  it('Escape cancels too; confirming deletes the queue, its files and the cached data', async () => {
    await queueStudy(2000);
    const stopUploads = vi.fn(async () => undefined);
    render(<DevicePage stopUploads={stopUploads} />);
    fireEvent.click(await screen.findByRole('button', { name: 'Clear local data…' }));
    fireEvent.keyDown(await screen.findByRole('alertdialog'), { key: 'Escape' });
    expect(screen.queryByRole('alertdialog')).not.toBeInTheDocument();
    expect(screen.getByRole('button', { name: 'Clear local data…' })).toHaveFocus();
    expect(await db.queue.count()).toBe(1);

    fireEvent.click(screen.getByRole('button', { name: 'Clear local data…' }));
    const dialog = await screen.findByRole('alertdialog');
    expect(within(dialog).getByTestId('clear-data-loss')).toHaveTextContent('1 queued upload has not been fully sent');
    fireEvent.click(within(dialog).getByRole('button', { name: 'Delete 1 queued upload and clear' }));
    expect(await screen.findByText('Local data cleared.')).toBeInTheDocument();
    expect(stopUploads).toHaveBeenCalledTimes(1);
    expect(await db.queue.count()).toBe(0);
    expect(await db.blobs.count()).toBe(0);
    expect(await db.cache.count()).toBe(0);
  });

  it('refuses to delete an upload queued after the count was confirmed', async () => {
    await queueStudy(2000);
    render(<DevicePage />);
    fireEvent.click(await screen.findByRole('button', { name: 'Clear local data…' }));
    const dialog = await screen.findByRole('alertdialog');
    await queueStudy(1000); // e.g. from another tab, while the question is open
    fireEvent.click(within(dialog).getByRole('button', { name: 'Delete 1 queued upload and clear' }));
    expect(await screen.findByRole('alert')).toHaveTextContent('now 2 queued uploads would be lost. Nothing was deleted.');
    expect(await db.queue.count()).toBe(2);
    expect(within(dialog).getByRole('button', { name: 'Delete 2 queued uploads and clear' })).toBeInTheDocument();
  });

  it('shows the version, storage figures and asks for persistent storage', async () => {
    render(<DevicePage />);
    expect(screen.getByTestId('build-id').textContent).not.toBe('');
    await waitFor(() => expect(screen.getByTestId('storage-used')).toHaveTextContent('5.0 MB'));
    expect(screen.getByTestId('storage-available')).toHaveTextContent('95 MB');
    await waitFor(() => expect(screen.getByTestId('persist-state')).toHaveTextContent(/^Off:/));
    fireEvent.click(screen.getByRole('button', { name: 'Ask the browser to keep it' }));
    await waitFor(() => expect(screen.getByTestId('persist-state')).toHaveTextContent(/^On:.*Granted\./));
    expect(navigator.storage.persist).toHaveBeenCalledTimes(1);
  });
});
