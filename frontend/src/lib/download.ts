import type { AxiosResponse } from 'axios';

/** The file name of a `Content-Disposition: attachment; filename="..."` header, or `fallback`. */
export function filenameOf(disposition: string | undefined, fallback: string): string {
  const match = disposition && /filename="?([^";]+)"?/i.exec(disposition);
  return match ? match[1] : fallback;
}

/**
 * Save a blob answer of apiClient as a file (a temporary object URL and a clicked link), under
 * the server's file name; returns that name.
 */
export function saveBlob(response: AxiosResponse<Blob>, fallback: string, type: string): string {
  const filename = filenameOf(response.headers['content-disposition'] as string | undefined, fallback);
  const blob = response.data instanceof Blob ? response.data : new Blob([response.data], { type });
  saveFile(blob, filename);
  return filename;
}

/** Save a blob made in the page as a file named `filename` (a temporary object URL and a clicked link). */
export function saveFile(blob: Blob, filename: string): void {
  const url = URL.createObjectURL(blob);
  try {
    const link = document.createElement('a');
    link.href = url;
    link.download = filename;
    link.rel = 'noopener';
    document.body.appendChild(link);
    link.click();
    link.remove();
  } finally {
    setTimeout(() => URL.revokeObjectURL(url), 60_000);
  }
}
