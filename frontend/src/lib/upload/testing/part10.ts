/** A minimal DICOM Part 10 file (explicit VR little endian), built in memory for tests. */

function element(group: number, elem: number, vr: string, value: string | Uint8Array): Uint8Array {
  let data = typeof value === 'string' ? new TextEncoder().encode(value) : value;
  if (data.length % 2 === 1) {
    const padded = new Uint8Array(data.length + 1);
    padded.set(data);
    padded[data.length] = vr === 'UI' || vr === 'OB' ? 0 : 0x20;
    data = padded;
  }
  const long = ['OB', 'OW', 'OF', 'SQ', 'UT', 'UN'].includes(vr);
  const header = new Uint8Array(long ? 12 : 8);
  const view = new DataView(header.buffer);
  view.setUint16(0, group, true);
  view.setUint16(2, elem, true);
  header[4] = vr.charCodeAt(0);
  header[5] = vr.charCodeAt(1);
  if (long) view.setUint32(8, data.length, true);
  else view.setUint16(6, data.length, true);
  const out = new Uint8Array(header.length + data.length);
  out.set(header);
  out.set(data, header.length);
  return out;
}

function concat(parts: Uint8Array[]): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(parts.reduce((s, p) => s + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

export interface Part10Fields {
  patientName?: string;
  studyDate?: string;
  modality?: string;
  pixelBytes?: number;
}

export function part10(fields: Part10Fields = {}): Uint8Array<ArrayBuffer> {
  const metaElements = concat([
    element(0x0002, 0x0001, 'OB', new Uint8Array([0, 1])),
    element(0x0002, 0x0002, 'UI', '1.2.840.10008.5.1.4.1.1.2'),
    element(0x0002, 0x0003, 'UI', '1.2.3.4.5.6'),
    element(0x0002, 0x0010, 'UI', '1.2.840.10008.1.2.1'),
  ]);
  const groupLength = new Uint8Array(4);
  new DataView(groupLength.buffer).setUint32(0, metaElements.length, true);
  const body = [
    element(0x0008, 0x0016, 'UI', '1.2.840.10008.5.1.4.1.1.2'),
    element(0x0008, 0x0018, 'UI', '1.2.3.4.5.6'),
  ];
  if (fields.studyDate !== undefined) body.push(element(0x0008, 0x0020, 'DA', fields.studyDate));
  if (fields.modality !== undefined) body.push(element(0x0008, 0x0060, 'CS', fields.modality));
  if (fields.patientName !== undefined) body.push(element(0x0010, 0x0010, 'PN', fields.patientName));
  body.push(element(0x0020, 0x000d, 'UI', '1.2.3.4'));
  body.push(element(0x7fe0, 0x0010, 'OW', new Uint8Array(fields.pixelBytes ?? 64)));
  return concat([
    new Uint8Array(128),
    new TextEncoder().encode('DICM'),
    element(0x0002, 0x0000, 'UL', groupLength),
    metaElements,
    ...body,
  ]);
}
