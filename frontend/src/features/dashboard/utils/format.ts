/** Display formats of the dashboard's figures; a missing figure (null) is an em dash. */
const NONE = '—';

const integer = new Intl.NumberFormat('en', { maximumFractionDigits: 0 });
const percent = new Intl.NumberFormat('en', { style: 'percent', maximumFractionDigits: 2 });

export function formatCount(value: number): string {
  return integer.format(value);
}

/** `volume_gb` as sent (10^9 bytes), always with 2 decimals. */
export function formatGb(value: number): string {
  return `${value.toFixed(2)} GB`;
}

/** Bytes in decimal units (kB, MB, GB: 10^3 steps), as the volume figure. */
export function formatBytes(bytes: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit += 1;
  }
  return unit === 0 ? `${value} B` : `${value.toFixed(value >= 100 ? 0 : value >= 10 ? 1 : 2)} ${units[unit]}`;
}

/** A 0–1 rate as a percentage (up to 2 decimals: the API sends 4). */
export function formatRate(rate: number | null): string {
  return rate === null ? NONE : percent.format(rate);
}

/** A duration for people: "42 s", "2 min 5 s", "1 h 2 min", "3 d 4 h"; under a second "0.4 s". */
export function formatDuration(seconds: number | null): string {
  if (seconds === null) return NONE;
  if (seconds < 1) return `${(Math.round(seconds * 10) / 10).toString()} s`;
  const total = Math.round(seconds);
  const days = Math.floor(total / 86_400);
  const hours = Math.floor((total % 86_400) / 3600);
  const minutes = Math.floor((total % 3600) / 60);
  const rest = total % 60;
  if (days) return hours ? `${days} d ${hours} h` : `${days} d`;
  if (hours) return minutes ? `${hours} h ${minutes} min` : `${hours} h`;
  if (minutes) return rest ? `${minutes} min ${rest} s` : `${minutes} min`;
  return `${rest} s`;
}

/** A YYYY-MM-DD day as "Dec 1" (read as a calendar date, never shifted by the time zone). */
export function formatDay(date: string): string {
  const [year, month, day] = date.split('-').map(Number);
  return new Date(Date.UTC(year!, month! - 1, day!)).toLocaleDateString('en', {
    month: 'short',
    day: 'numeric',
    timeZone: 'UTC',
  });
}
