import { createHash } from 'node:crypto';

import { describe, expect, it } from 'vitest';

import { bytesToBase64, contentMd5, Md5 } from '@/lib/upload/content-md5';

describe('Content-MD5', () => {
  it('is the base64 of the 16-byte digest (RFC 1864), not hex', async () => {
    const value = await contentMd5(new TextEncoder().encode('hello'));
    expect(value).toBe('XUFAKrxLKna5cZ2REBfFkg==');
    expect(atob(value)).toHaveLength(16);
  });

  it('matches node:crypto for random data, with one hasher reused', async () => {
    const hasher = new Md5();
    for (const size of [0, 1, 1000, 256 * 1024 + 7]) {
      const data = new Uint8Array(size).map((_, i) => (i * 7919) & 0xff);
      const expected = createHash('md5').update(data).digest('base64');
      expect(await hasher.contentMd5(data.buffer)).toBe(expected);
    }
  });

  it('encodes bytes to base64', () => {
    expect(bytesToBase64(new Uint8Array([0, 255, 128]))).toBe(Buffer.from([0, 255, 128]).toString('base64'));
  });
});
