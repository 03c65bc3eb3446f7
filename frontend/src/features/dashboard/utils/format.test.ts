import { describe, expect, it } from 'vitest';

import { formatBytes, formatCount, formatDay, formatDuration, formatGb, formatRate } from '@/features/dashboard/utils/format';

describe('dashboard formats', () => {
  it('shows volume_gb with exactly 2 decimals', () => {
    expect(formatGb(0)).toBe('0.00 GB');
    expect(formatGb(12.5)).toBe('12.50 GB');
    expect(formatGb(0.01)).toBe('0.01 GB');
  });

  it('shows a success rate as a percentage and null as an em dash', () => {
    expect(formatRate(0.9234)).toBe('92.34%');
    expect(formatRate(1)).toBe('100%');
    expect(formatRate(0)).toBe('0%');
    expect(formatRate(null)).toBe('—');
  });

  it('humanises durations and shows null as an em dash', () => {
    expect(formatDuration(null)).toBe('—');
    expect(formatDuration(0.42)).toBe('0.4 s');
    expect(formatDuration(42.4)).toBe('42 s');
    expect(formatDuration(125)).toBe('2 min 5 s');
    expect(formatDuration(120)).toBe('2 min');
    expect(formatDuration(3725)).toBe('1 h 2 min');
    expect(formatDuration(3 * 86_400 + 4 * 3600 + 59)).toBe('3 d 4 h');
  });

  it('groups counts, scales bytes in decimal units and reads days as calendar dates', () => {
    expect(formatCount(12345)).toBe('12,345');
    expect(formatBytes(999)).toBe('999 B');
    expect(formatBytes(1_500_000)).toBe('1.50 MB');
    expect(formatBytes(250_000_000_000)).toBe('250 GB');
    expect(formatDay('2026-12-01')).toBe('Dec 1');
  });
});
