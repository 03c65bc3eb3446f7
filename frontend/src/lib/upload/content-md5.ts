/** Content-MD5 (RFC 1864): the base64 of the 16-byte MD5 digest, as the server checks it. */
import { createMD5 } from 'hash-wasm';

type Hasher = Awaited<ReturnType<typeof createMD5>>;

export function bytesToBase64(bytes: Uint8Array): string {
  let binary = '';
  for (let i = 0; i < bytes.length; i += 1) binary += String.fromCharCode(bytes[i]!);
  return btoa(binary);
}

/** One reusable WASM hasher per caller (each transfer worker keeps its own). */
export class Md5 {
  private hasher: Promise<Hasher> | undefined;

  async contentMd5(data: ArrayBuffer | Uint8Array): Promise<string> {
    this.hasher ??= createMD5();
    const hasher = await this.hasher;
    hasher.init();
    hasher.update(data instanceof Uint8Array ? data : new Uint8Array(data));
    return bytesToBase64(hasher.digest('binary'));
  }
}

export async function contentMd5(data: ArrayBuffer | Uint8Array): Promise<string> {
  return new Md5().contentMd5(data);
}
