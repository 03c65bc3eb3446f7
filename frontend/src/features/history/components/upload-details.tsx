import { CachedDataBadge } from '@/components/ui/cached-data-badge';
import { getUpload } from '@/features/history/api/get-upload';
import type { UploadDetail } from '@/features/history/types/history';
import { useOnline } from '@/lib/network';
import { useCachedQuery } from '@/lib/use-cached-query';

const ACTIVE = new Set(['uploading', 'processing', 'queued', 'forwarding']);

/** Forwarding jobs, PACS receipts and failure reasons of one upload. */
export function UploadDetails({ uploadId }: { uploadId: string }) {
  const online = useOnline();
  const query = useCachedQuery<UploadDetail>(`history:upload:${uploadId}`, () => getUpload(uploadId), {
    online,
    pollMs: 5000,
  });
  const detail = query.data;
  if (query.loading && !detail) return <p role="status">Loading details…</p>;
  if (query.error && !detail) return <p role="alert">{query.error}</p>;
  if (!detail) return <p>No details saved on this device yet.</p>;
  return (
    <div className="upload-details">
      {query.fromCache && <CachedDataBadge updatedAt={query.updatedAt ?? undefined} />}
      <dl className="facts">
        <dt>Files</dt>
        <dd>
          {detail.file_count} ({detail.instance_count} DICOM instances)
        </dd>
        {detail.study_instance_uid && (
          <>
            <dt>Study UID</dt>
            <dd className="mono">{detail.study_instance_uid}</dd>
          </>
        )}
      </dl>
      {detail.warnings.length > 0 && (
        <ul className="warnings" aria-label="Warnings">
          {detail.warnings.map((warning) => (
            <li key={warning}>{warning}</li>
          ))}
        </ul>
      )}
      {detail.files.some((file) => file.note) && (
        <ul className="warnings" aria-label="File notes">
          {detail.files
            .filter((file) => file.note)
            .map((file) => (
              <li key={file.index}>
                {file.name}: {file.note}
              </li>
            ))}
        </ul>
      )}
      <h4>PACS delivery</h4>
      {detail.forwarding.length === 0 ? (
        <p>{ACTIVE.has(detail.state) ? 'Not sent to a PACS yet.' : 'No PACS delivery recorded.'}</p>
      ) : (
        <ul className="jobs">
          {detail.forwarding.map((job) => (
            <li key={job.id}>
              <p>
                <strong>{job.destination}</strong> ({job.role}): {job.state}
                {job.instances_total > 0 && ` — ${job.instances_stored}/${job.instances_total} instances stored`}
                {job.delivered_at && `, delivered ${new Date(job.delivered_at).toLocaleString()}`}
                {job.attempts > 1 && `, ${job.attempts} attempts`}
              </p>
              {job.last_error && (
                <p className="failure-reason">
                  <strong>Reason:</strong> {job.last_error}
                </p>
              )}
              {job.receipts.length > 0 && (
                <table className="receipts">
                  <caption className="visually-hidden">PACS receipts for {job.destination}</caption>
                  <thead>
                    <tr>
                      <th scope="col">Attempt</th>
                      <th scope="col">Outcome</th>
                      <th scope="col">Instances</th>
                      <th scope="col">When</th>
                    </tr>
                  </thead>
                  <tbody>
                    {job.receipts.map((receipt) => (
                      <tr key={receipt.id}>
                        <td>{receipt.attempt}</td>
                        <td>
                          {receipt.outcome}
                          {receipt.http_status ? ` (HTTP ${receipt.http_status})` : ''}
                          {receipt.error ? ` — ${receipt.error}` : ''}
                        </td>
                        <td>
                          {receipt.referenced.length} stored
                          {receipt.failed.length > 0 && `, ${receipt.failed.length} failed`}
                        </td>
                        <td>
                          <time dateTime={receipt.started_at}>{new Date(receipt.started_at).toLocaleString()}</time>
                        </td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              )}
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}
