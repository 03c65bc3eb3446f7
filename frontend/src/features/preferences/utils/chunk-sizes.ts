/** Chunk sizes offered in Settings → Upload preferences: powers of two within the server's bounds. */
export function chunkSizeOptions(limits: { min: number; max: number }, current?: number): number[] {
  const sizes: number[] = [];
  for (let size = 1; size <= limits.max; size *= 2) if (size >= limits.min) sizes.push(size);
  if (current !== undefined && current >= limits.min && current <= limits.max && !sizes.includes(current)) {
    sizes.push(current);
  }
  return sizes.sort((a, b) => a - b);
}

export function formatChunkSize(bytes: number): string {
  if (bytes >= 1024 * 1024 && bytes % (1024 * 1024) === 0) return `${bytes / (1024 * 1024)} MiB`;
  if (bytes % 1024 === 0) return `${bytes / 1024} KiB`;
  return `${bytes.toLocaleString()} bytes`;
}
