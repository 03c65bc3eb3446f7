import { File as NodeFile } from 'node:buffer';

import { describe, expect, it } from 'vitest';

import { displayPath, filesFromDataTransfer, scanFiles, sortByPath } from '@/features/upload/utils/collect-files';
import { part10 } from '@/lib/upload/testing/part10';

function file(name: string, bytes: Uint8Array<ArrayBuffer> = new Uint8Array(10)): File {
  return new NodeFile([bytes], name) as unknown as File;
}

function fileEntry(f: File): FileSystemFileEntry {
  return { isFile: true, isDirectory: false, name: f.name, file: (ok: (f: File) => void) => ok(f) } as unknown as FileSystemFileEntry;
}

/** A directory whose reader answers in batches of two, then an empty batch (as Chromium does, by 100). */
function dirEntry(name: string, children: FileSystemEntry[]): FileSystemDirectoryEntry {
  return {
    isFile: false,
    isDirectory: true,
    name,
    createReader: () => {
      let at = 0;
      return {
        readEntries: (ok: (entries: FileSystemEntry[]) => void) => {
          const batch = children.slice(at, at + 2);
          at += batch.length;
          setTimeout(() => ok(batch), 0);
        },
      };
    },
  } as unknown as FileSystemDirectoryEntry;
}

function dataTransfer(entries: FileSystemEntry[]): DataTransfer {
  return {
    items: entries.map((entry) => ({ kind: 'file', webkitGetAsEntry: () => entry, getAsFile: () => null })),
    files: [],
  } as unknown as DataTransfer;
}

describe('collecting files', () => {
  it('walks dropped folders (all reader batches, nested), keeping folder-relative paths', async () => {
    const nested = dirEntry('series2', [fileEntry(file('c.dcm'))]);
    const study = dirEntry('study', [fileEntry(file('a.dcm')), fileEntry(file('b.dcm')), nested, fileEntry(file('d.dcm'))]);
    const loose = fileEntry(file('loose.dcm'));
    const files = await filesFromDataTransfer(dataTransfer([study, loose]));
    expect(files.map(displayPath).sort()).toEqual([
      'loose.dcm',
      'study/a.dcm',
      'study/b.dcm',
      'study/d.dcm',
      'study/series2/c.dcm',
    ]);
  });

  it('sorts by path, numbers in natural order', () => {
    const sorted = sortByPath([file('ct_10.dcm'), file('ct_2.dcm'), file('ct_1.dcm')]);
    expect(sorted.map((f) => f.name)).toEqual(['ct_1.dcm', 'ct_2.dcm', 'ct_10.dcm']);
  });

  it('keeps DICOM files in order and lists every skipped file with a reason', async () => {
    const dicom = part10({ modality: 'CT' });
    const result = await scanFiles([
      file('1.dcm', dicom),
      file('notes.txt', new TextEncoder().encode('x'.repeat(300))),
      file('2.dcm', dicom),
      file('tiny', new Uint8Array(3)),
    ]);
    expect(result.dicom.map((f) => f.name)).toEqual(['1.dcm', '2.dcm']);
    expect(result.skipped).toEqual([
      { name: 'notes.txt', reason: 'not a DICOM file (no DICM marker)' },
      { name: 'tiny', reason: 'too small to be DICOM' },
    ]);
  });
});
