/**
 * Client-side DICOM checks that read only a file's first bytes: the Part 10 preamble
 * sniff (`DICM` at byte 128) and the few header fields that pre-fill the study form.
 */
import * as dicomParser from 'dicom-parser';

const PREAMBLE = 128;
const MAGIC = [0x44, 0x49, 0x43, 0x4d]; // "DICM"
/** Enough for the header of any ordinary instance; parsing stops at Pixel Data anyway. */
export const HEADER_SLICE_BYTES = 64 * 1024;

/** True when the blob is a DICOM Part 10 file (reads 132 bytes, never the whole file). */
export async function isDicomFile(file: Blob): Promise<boolean> {
  if (file.size < PREAMBLE + MAGIC.length) return false;
  const head = new Uint8Array(await file.slice(PREAMBLE, PREAMBLE + MAGIC.length).arrayBuffer());
  return MAGIC.every((byte, i) => head[i] === byte);
}

export interface HeaderPrefill {
  patientName?: string;
  /** YYYY-MM-DD */
  studyDate?: string;
  modality?: string;
  studyInstanceUid?: string;
}

/** DICOM PN "Doe^Jane^^^" → "Doe^Jane" (the server keeps the caret form). */
function cleanPersonName(value: string | undefined): string | undefined {
  if (!value) return undefined;
  const alphabetic = value.split('=')[0] ?? '';
  const trimmed = alphabetic.replace(/\^+$/, '').trim();
  return trimmed || undefined;
}

/** DICOM DA "20260115" (or the old "2026.01.15") → "2026-01-15". */
export function dicomDateToIso(value: string | undefined): string | undefined {
  const digits = (value ?? '').replace(/\./g, '').trim();
  const match = /^(\d{4})(\d{2})(\d{2})$/.exec(digits);
  if (!match) return undefined;
  const [, y, m, d] = match;
  const month = Number(m);
  const day = Number(d);
  if (month < 1 || month > 12 || day < 1 || day > 31) return undefined;
  return `${y}-${m}-${d}`;
}

function text(dataSet: dicomParser.DataSet, tag: string): string | undefined {
  try {
    const value = dataSet.string(tag);
    return value ? value.trim() || undefined : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Patient name, study date and modality from the first HEADER_SLICE_BYTES of a file.
 * Returns {} when nothing can be read; a header cut short by the slice still yields the
 * elements parsed before the cut.
 */
export async function readHeaderPrefill(file: Blob): Promise<HeaderPrefill> {
  const bytes = new Uint8Array(await file.slice(0, HEADER_SLICE_BYTES).arrayBuffer());
  let dataSet: dicomParser.DataSet | undefined;
  try {
    dataSet = dicomParser.parseDicom(bytes, { untilTag: 'x7fe00010' });
  } catch (error) {
    // dicom-parser throws {exception, dataSet} with what it read before the failure.
    const partial = (error as { dataSet?: dicomParser.DataSet } | undefined)?.dataSet;
    dataSet = partial;
  }
  if (!dataSet) return {};
  const prefill: HeaderPrefill = {
    patientName: cleanPersonName(text(dataSet, 'x00100010')),
    studyDate: dicomDateToIso(text(dataSet, 'x00080020')),
    modality: text(dataSet, 'x00080060')?.toUpperCase(),
    studyInstanceUid: text(dataSet, 'x0020000d'),
  };
  return Object.fromEntries(
    Object.entries(prefill).filter(([, v]) => v !== undefined),
  ) as HeaderPrefill;
}
