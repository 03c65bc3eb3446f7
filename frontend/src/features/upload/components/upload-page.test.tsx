import { File as NodeFile } from 'node:buffer';

import { act, fireEvent, render, screen, waitFor, within } from '@testing-library/react';
import { AxiosError, AxiosHeaders } from 'axios';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

import { UploadPage } from '@/features/upload/components/upload-page';
import { db } from '@/lib/db';
import { FakeUploadServer } from '@/lib/upload/testing/fake-upload-server';
import { part10 } from '@/lib/upload/testing/part10';

const initUpload = vi.fn();

// vi.mock calls are hoisted above the imports.
vi.mock('@/lib/auth', () => ({
  useAuth: () => ({ status: 'signed-in', user: { id: 'user-1' }, userFromCache: false }),
}));
const PREFERENCES = {
  default_service_level: 'STAT',
  chunk_size: 262144,
  duplicate_check: true,
  notifications: {},
  chunk_size_limits: { min: 262144, max: 16777216, default: 1048576 },
};
const apiGet = vi.fn();
vi.mock('@/lib/api-client', async (importOriginal) => ({
  ...(await importOriginal<typeof import('@/lib/api-client')>()),
  apiClient: { get: (...args: unknown[]) => apiGet(...args), patch: vi.fn() },
}));
vi.mock('@/features/upload/api/init-upload', () => ({ initUpload: (...args: unknown[]) => initUpload(...args) }));

/** Node's File: fake-indexeddb (Node structuredClone) keeps Node Blobs, as a browser keeps its own. */
function nodeFile(bytes: Uint8Array<ArrayBuffer>, name: string): File {
  return new NodeFile([bytes], name) as unknown as File;
}

function setOnline(online: boolean) {
  vi.spyOn(navigator, 'onLine', 'get').mockReturnValue(online);
  window.dispatchEvent(new Event(online ? 'online' : 'offline'));
}

function choose(files: File[]) {
  const input = screen.getByTestId('upload-files-input') as HTMLInputElement;
  Object.defineProperty(input, 'files', { value: files, configurable: true });
  fireEvent.change(input);
}

const dicom = part10({ patientName: 'DOE^JANE', studyDate: '20260115', modality: 'CT', pixelBytes: 1500 });

beforeEach(async () => {
  await Promise.all([db.queue.clear(), db.blobs.clear(), db.settings.clear()]);
  initUpload.mockReset();
  apiGet.mockReset();
  apiGet.mockResolvedValue({ data: PREFERENCES });
});

afterEach(() => {
  vi.restoreAllMocks();
  vi.unstubAllGlobals();
});

describe('UploadPage', () => {
  it('offline: skips non-DICOM files visibly, pre-fills the form, disables "Upload now" and queues for later', async () => {
    setOnline(false);
    // Preferences read on an earlier visit, kept in IndexedDB: the page opens with them offline.
    await db.settings.put({
      key: 'preferences:user-1',
      value: { server: PREFERENCES, pending: null, refused: null },
      updatedAt: Date.now(),
    });
    render(<UploadPage />);
    choose([nodeFile(dicom, 'ct_1.dcm'), nodeFile(new TextEncoder().encode('hello'), 'readme.txt')]);

    await screen.findByText(/1 DICOM file selected/);
    expect(within(screen.getByTestId('upload-skipped')).getByText('readme.txt')).toBeInTheDocument();
    await waitFor(() => expect(screen.getByLabelText('Patient name')).toHaveValue('DOE^JANE'));
    expect(screen.getByLabelText('Study date')).toHaveValue('2026-01-15');
    expect(screen.getByLabelText('Modality')).toHaveValue('CT');
    await waitFor(() => expect(screen.getByRole('radio', { name: 'Stat' })).toBeChecked(), { timeout: 5000 });

    expect(screen.getByRole('button', { name: 'Upload now' })).toBeDisabled();
    fireEvent.click(screen.getByRole('button', { name: 'Queue for later' }));

    await screen.findByText('Queued — will send when online');
    const [entry] = await db.queue.toArray();
    expect(entry).toMatchObject({
      state: 'pending',
      ownerId: 'user-1',
      metadata: { patient_name: 'DOE^JANE', study_date: '2026-01-15', modality: 'CT', service_level: 'STAT' },
      files: [{ name: 'ct_1.dcm', size: dicom.length }],
      chunkSize: 262144,
    });
    expect(await db.blobs.count()).toBe(1);
    expect(initUpload).not.toHaveBeenCalled();
    expect(apiGet).not.toHaveBeenCalled();
  }, 15000);

  it('online: a duplicate warning, then "Send anyway" re-inits with force_upload and sends', async () => {
    setOnline(true);
    const server = new FakeUploadServer({ sizes: [dicom.length], chunkSize: 1000 });
    vi.stubGlobal('fetch', server.fetch);
    initUpload
      .mockRejectedValueOnce(
        new AxiosError('Conflict', 'ERR_BAD_REQUEST', undefined, undefined, {
          status: 409,
          statusText: 'Conflict',
          headers: {},
          config: { headers: new AxiosHeaders() },
          data: {
            error: {
              code: 'duplicate_study',
              message: 'dup',
              duplicate_of: { upload_id: 'old', created_at: '2026-01-16T10:00:00Z' },
            },
          },
        }),
      )
      .mockResolvedValueOnce({
        upload_id: 'u1',
        upload_token: server.token,
        chunk_size: 1000,
        expires_at: '2030-01-01T00:00:00Z',
        files: [{ index: 0, name: 'ct_1.dcm', size: dicom.length, total_chunks: Math.ceil(dicom.length / 1000) }],
      });
    render(<UploadPage />);
    choose([nodeFile(dicom, 'ct_1.dcm')]);
    await screen.findByText(/1 DICOM file selected/);
    await waitFor(() => expect(screen.getByLabelText('Patient name')).toHaveValue('DOE^JANE'));
    await act(async () => {
      fireEvent.click(screen.getByRole('button', { name: 'Upload now' }));
    });

    const alert = await screen.findByText(/looks like a study uploaded recently/);
    expect(alert).toHaveAttribute('role', 'alert');
    expect(initUpload).toHaveBeenCalledTimes(1);
    expect(initUpload.mock.calls[0]![0]).toMatchObject({ force_upload: false });

    fireEvent.click(screen.getByRole('button', { name: 'Send anyway' }));
    await screen.findByText('Sent', {}, { timeout: 5000 });
    expect(initUpload.mock.calls[1]![0]).toMatchObject({ force_upload: true, patient_name: 'DOE^JANE' });
    expect(server.stored.size).toBe(Math.ceil(dicom.length / 1000));
    expect(await db.blobs.count()).toBe(0);
  }, 15000);

  it('uses the chunk size preference: init asks for it, even when changed offline and not sent yet', async () => {
    setOnline(true);
    // Changed offline to 512 KiB: queued on top of the server's 256 KiB, and used at once.
    await db.settings.put({
      key: 'preferences:user-1',
      value: { server: PREFERENCES, pending: { chunk_size: 524288 }, refused: null },
      updatedAt: Date.now(),
    });
    apiGet.mockReturnValue(new Promise(() => undefined)); // the server does not answer
    const server = new FakeUploadServer({ sizes: [dicom.length], chunkSize: 524288 });
    vi.stubGlobal('fetch', server.fetch);
    initUpload.mockResolvedValueOnce({
      upload_id: 'u2',
      upload_token: server.token,
      chunk_size: 524288,
      expires_at: '2030-01-01T00:00:00Z',
      files: [{ index: 0, name: 'ct_1.dcm', size: dicom.length, total_chunks: 1 }],
    });
    render(<UploadPage />);
    await waitFor(() => expect(screen.getByRole('radio', { name: 'Stat' })).toBeChecked(), { timeout: 5000 });
    choose([nodeFile(dicom, 'ct_1.dcm')]);
    await screen.findByText(/1 DICOM file selected/);
    await waitFor(() => expect(screen.getByLabelText('Patient name')).toHaveValue('DOE^JANE'));
    await act(async () => {
      fireEvent.click(screen.getByRole('button', { name: 'Upload now' }));
    });
    await waitFor(() => expect(initUpload).toHaveBeenCalledTimes(1), { timeout: 5000 });
    expect(initUpload.mock.calls[0]![0]).toMatchObject({ chunk_size: 524288, service_level: 'STAT' });
  }, 15000);
});
