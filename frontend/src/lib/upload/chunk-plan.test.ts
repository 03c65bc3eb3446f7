import { describe, expect, it } from 'vitest';

import { chunkCount, chunkRange, planAll, planMissing, taskBytes } from '@/lib/upload/chunk-plan';
import type { UploadStatus } from '@/lib/upload/types';

describe('chunk planning', () => {
  it('counts chunks like the server: ceil(size / chunk), at least one', () => {
    expect(chunkCount(0, 1024)).toBe(1);
    expect(chunkCount(1, 1024)).toBe(1);
    expect(chunkCount(1024, 1024)).toBe(1);
    expect(chunkCount(1025, 1024)).toBe(2);
    expect(chunkCount(10 * 1024 * 1024, 1024 * 1024)).toBe(10);
  });

  it('gives every chunk but the last exactly chunk_size bytes', () => {
    expect(chunkRange(2500, 1000, 0)).toEqual([0, 1000]);
    expect(chunkRange(2500, 1000, 1)).toEqual([1000, 2000]);
    expect(chunkRange(2500, 1000, 2)).toEqual([2000, 2500]);
  });

  it('plans every chunk of every file in order, covering every byte once', () => {
    const tasks = planAll([2500, 0, 1000], 1000);
    expect(tasks.map((t) => [t.file, t.index])).toEqual([
      [0, 0],
      [0, 1],
      [0, 2],
      [1, 0],
      [2, 0],
    ]);
    expect(taskBytes(tasks)).toBe(3500);
  });

  it('plans only the chunks the status lists as missing', () => {
    const status: UploadStatus = {
      upload_id: 'u',
      state: 'uploading',
      expires_at: '2030-01-01T00:00:00Z',
      files: [
        { index: 1, total_chunks: 2, received: 1, missing: [1] },
        { index: 0, total_chunks: 3, received: 2, missing: [2] },
      ],
    };
    const tasks = planMissing(status, [2500, 1500], 1000);
    expect(tasks).toEqual([
      { file: 0, index: 2, start: 2000, end: 2500 },
      { file: 1, index: 1, start: 1000, end: 1500 },
    ]);
  });
});
