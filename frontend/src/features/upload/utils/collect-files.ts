/** Files from a picker, a folder picker or a drop (folders included), then the DICOM sniff. */
import { isDicomFile } from '@/lib/upload/dicom';

export interface SkippedFile {
  name: string;
  reason: string;
}

export interface ScannedFiles {
  dicom: File[];
  skipped: SkippedFile[];
}

/** The path shown to the user: the folder-relative path when there is one. */
export function displayPath(file: File): string {
  const withPath = file as File & { relativePath?: string };
  return withPath.webkitRelativePath || withPath.relativePath || file.name;
}

function readAllEntries(reader: FileSystemDirectoryReader): Promise<FileSystemEntry[]> {
  return new Promise((resolve, reject) => {
    const all: FileSystemEntry[] = [];
    // readEntries answers in batches (100 in Chromium) until an empty one.
    const next = () =>
      reader.readEntries((batch) => {
        if (batch.length === 0) resolve(all);
        else {
          all.push(...batch);
          next();
        }
      }, reject);
    next();
  });
}

function entryFile(entry: FileSystemFileEntry): Promise<File> {
  return new Promise((resolve, reject) => entry.file(resolve, reject));
}

async function walk(entry: FileSystemEntry, prefix: string, out: File[]): Promise<void> {
  if (entry.isFile) {
    const file = await entryFile(entry as FileSystemFileEntry);
    Object.defineProperty(file, 'relativePath', { value: `${prefix}${file.name}` });
    out.push(file);
  } else if (entry.isDirectory) {
    const children = await readAllEntries((entry as FileSystemDirectoryEntry).createReader());
    for (const child of children) await walk(child, `${prefix}${entry.name}/`, out);
  }
}

/**
 * Every file in a drop, descending into dropped folders. The entries are taken synchronously
 * (a DataTransfer is emptied once the event handler returns), then read.
 */
export async function filesFromDataTransfer(data: DataTransfer): Promise<File[]> {
  const entries: FileSystemEntry[] = [];
  const loose: File[] = [];
  for (const item of Array.from(data.items ?? [])) {
    if (item.kind !== 'file') continue;
    const entry = typeof item.webkitGetAsEntry === 'function' ? item.webkitGetAsEntry() : null;
    if (entry) entries.push(entry);
    else {
      const file = item.getAsFile();
      if (file) loose.push(file);
    }
  }
  if (entries.length === 0 && loose.length === 0) loose.push(...Array.from(data.files ?? []));
  const out: File[] = [...loose];
  for (const entry of entries) await walk(entry, '', out);
  return out;
}

/** Sorted by path so the first file (the one the form is pre-filled from) is predictable. */
export function sortByPath(files: File[]): File[] {
  return [...files].sort((a, b) => displayPath(a).localeCompare(displayPath(b), undefined, { numeric: true }));
}

/** Splits files into DICOM Part 10 files and skipped ones, reading 132 bytes of each. */
export async function scanFiles(files: File[], parallel = 8): Promise<ScannedFiles> {
  const verdicts: (SkippedFile | null)[] = new Array(files.length).fill(null);
  let next = 0;
  const worker = async () => {
    while (next < files.length) {
      const i = next;
      next += 1;
      const file = files[i]!;
      let ok: boolean;
      try {
        ok = await isDicomFile(file);
      } catch {
        verdicts[i] = { name: displayPath(file), reason: 'could not be read' };
        continue;
      }
      if (!ok) {
        verdicts[i] = {
          name: displayPath(file),
          reason: file.size < 132 ? 'too small to be DICOM' : 'not a DICOM file (no DICM marker)',
        };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(parallel, files.length) }, worker));
  return {
    dicom: files.filter((_, i) => verdicts[i] === null),
    skipped: verdicts.filter((v): v is SkippedFile => v !== null),
  };
}
