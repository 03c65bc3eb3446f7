import type { SkippedFile } from '@/features/upload/utils/collect-files';

/** The files left out because they are not DICOM, listed so nothing is dropped silently. */
export function SkippedFiles({ skipped }: { skipped: SkippedFile[] }) {
  if (skipped.length === 0) return null;
  return (
    <details className="upload-skipped" open={skipped.length <= 5} data-testid="upload-skipped">
      <summary>
        {skipped.length} file{skipped.length === 1 ? '' : 's'} skipped (not DICOM)
      </summary>
      <ul>
        {skipped.map((s) => (
          <li key={s.name}>
            <span className="upload-skipped__name">{s.name}</span> — {s.reason}
          </li>
        ))}
      </ul>
    </details>
  );
}
