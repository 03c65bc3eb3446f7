/** Which bytes make up which chunk, and which chunks still have to go. */
import type { UploadStatus } from '@/lib/upload/types';

export interface ChunkTask {
  file: number;
  index: number;
  start: number;
  end: number;
}

export function chunkCount(size: number, chunkSize: number): number {
  // An empty file still has one (empty) chunk, as the server plans it.
  return Math.max(1, Math.ceil(size / chunkSize));
}

export function chunkRange(size: number, chunkSize: number, index: number): [number, number] {
  const start = index * chunkSize;
  return [start, Math.min(size, start + chunkSize)];
}

/** Every chunk of every file, in file order (a fresh upload). */
export function planAll(sizes: readonly number[], chunkSize: number): ChunkTask[] {
  const tasks: ChunkTask[] = [];
  sizes.forEach((size, file) => {
    for (let index = 0; index < chunkCount(size, chunkSize); index += 1) {
      const [start, end] = chunkRange(size, chunkSize, index);
      tasks.push({ file, index, start, end });
    }
  });
  return tasks;
}

/** Only the chunks the server says it is missing, in file order. */
export function planMissing(
  status: UploadStatus,
  sizes: readonly number[],
  chunkSize: number,
): ChunkTask[] {
  const tasks: ChunkTask[] = [];
  for (const file of [...status.files].sort((a, b) => a.index - b.index)) {
    const size = sizes[file.index];
    if (size === undefined) throw new Error(`the server knows a file #${file.index} we do not`);
    for (const index of file.missing) {
      const [start, end] = chunkRange(size, chunkSize, index);
      tasks.push({ file: file.index, index, start, end });
    }
  }
  return tasks;
}

export function taskBytes(tasks: readonly ChunkTask[]): number {
  return tasks.reduce((sum, t) => sum + (t.end - t.start), 0);
}
