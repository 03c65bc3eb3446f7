/** Storage sizes for people (MB = 10^6 bytes, as browsers' storage settings show them). */
export function formatStorage(bytes: number | null): string {
  if (bytes === null) return 'unknown';
  if (bytes < 1000) return `${bytes} B`;
  const units = ['kB', 'MB', 'GB', 'TB'];
  let value = bytes / 1000;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit += 1;
  }
  return `${value.toFixed(value < 10 ? 1 : 0)} ${units[unit]}`;
}

export function uploadsPhrase(count: number): string {
  return count === 1 ? '1 queued upload' : `${count} queued uploads`;
}
