import { describe, expect, it, vi } from 'vitest';

import { dicomDateToIso, HEADER_SLICE_BYTES, isDicomFile, readHeaderPrefill } from '@/lib/upload/dicom';
import { part10 } from '@/lib/upload/testing/part10';

function blobOf(bytes: Uint8Array<ArrayBuffer>): Blob {
  return new Blob([bytes]);
}

/** A blob that records which ranges were sliced from it. */
function spiedBlob(bytes: Uint8Array<ArrayBuffer>) {
  const blob = blobOf(bytes);
  const slices: [number | undefined, number | undefined][] = [];
  const original = blob.slice.bind(blob);
  vi.spyOn(blob, 'slice').mockImplementation((start?: number, end?: number) => {
    slices.push([start, end]);
    return original(start, end);
  });
  return { blob, slices };
}

describe('DICM sniffing', () => {
  it('accepts a Part 10 file, reading only bytes 128–132', async () => {
    const { blob, slices } = spiedBlob(part10({ pixelBytes: 1_000_000 }));
    expect(await isDicomFile(blob)).toBe(true);
    expect(slices).toEqual([[128, 132]]);
  });

  it('rejects files without the DICM marker, and files too short to have one', async () => {
    expect(await isDicomFile(blobOf(new TextEncoder().encode('x'.repeat(500))))).toBe(false);
    expect(await isDicomFile(blobOf(new Uint8Array(131)))).toBe(false);
    const wrongPlace = new Uint8Array(200);
    wrongPlace.set(new TextEncoder().encode('DICM'), 0);
    expect(await isDicomFile(blobOf(wrongPlace))).toBe(false);
  });
});

describe('header prefill', () => {
  it('reads patient name, study date and modality from the header', async () => {
    const file = blobOf(part10({ patientName: 'DOE^JANE^^', studyDate: '20260115', modality: 'CT' }));
    expect(await readHeaderPrefill(file)).toEqual({
      patientName: 'DOE^JANE',
      studyDate: '2026-01-15',
      modality: 'CT',
      studyInstanceUid: '1.2.3.4',
    });
  });

  it('parses only the first 64 KiB, even of a large file', async () => {
    const { blob, slices } = spiedBlob(
      part10({ patientName: 'ROE^RICHARD', studyDate: '20250101', modality: 'MR', pixelBytes: 2_000_000 }),
    );
    const prefill = await readHeaderPrefill(blob);
    expect(prefill.patientName).toBe('ROE^RICHARD');
    expect(prefill.modality).toBe('MR');
    expect(slices).toEqual([[0, HEADER_SLICE_BYTES]]);
  });

  it('returns what it can when fields are missing, and nothing for non-DICOM', async () => {
    expect(await readHeaderPrefill(blobOf(part10({ modality: 'US' })))).toEqual({
      modality: 'US',
      studyInstanceUid: '1.2.3.4',
    });
    expect(await readHeaderPrefill(blobOf(new TextEncoder().encode('not dicom at all')))).toEqual({});
  });

  it('converts DICOM dates and refuses nonsense', () => {
    expect(dicomDateToIso('20260115')).toBe('2026-01-15');
    expect(dicomDateToIso('2026.01.15')).toBe('2026-01-15');
    expect(dicomDateToIso('20261345')).toBeUndefined();
    expect(dicomDateToIso('')).toBeUndefined();
  });
});
