import { useCallback, type ReactNode } from 'react';
import { Link, useParams } from 'react-router-dom';

import { paths } from '@/config/paths';
import { getUpload } from '@/features/history/api/get-upload';
import { UploadDetails } from '@/features/history/components/upload-details';
import { UploadStateBadge } from '@/features/history/components/upload-state-badge';
import type { UploadDetail } from '@/features/history/types/history';
import { useOnline } from '@/lib/network';
import { useCachedQuery } from '@/lib/use-cached-query';

export interface UploadDetailPageProps {
  /** What to show about the upload's report (composed by the app from the reports feature). */
  renderReport?: (upload: UploadDetail) => ReactNode;
}

/** `/history/:uploadId`: one upload (where push and in-app notifications about it lead). */
export function UploadDetailPage({ renderReport }: UploadDetailPageProps) {
  const { uploadId = '' } = useParams();
  const online = useOnline();
  const fetcher = useCallback(() => getUpload(uploadId), [uploadId]);
  const query = useCachedQuery<UploadDetail>(`history:upload:${uploadId}`, fetcher, { online, pollMs: 10_000 });

  const upload = query.data;
  return (
    <section aria-labelledby="upload-title" className="page">
      <p>
        <Link to={paths.history}>← Upload history</Link>
      </p>
      {query.loading && !upload && <p role="status">Loading the upload…</p>}
      {query.error && !upload && (
        <p role="alert" className="alert alert-error">
          {query.error}
        </p>
      )}
      {upload && (
        <>
          <div className="page-header">
            <h1 id="upload-title">
              {upload.patient_name} · {upload.modality} · {upload.study_date}
            </h1>
            <UploadStateBadge state={upload.state} />
          </div>
          <p className="history-item-meta">
            {upload.service_level} · sent <time dateTime={upload.created_at}>{new Date(upload.created_at).toLocaleString()}</time>
          </p>
          {renderReport?.(upload)}
          <UploadDetails uploadId={upload.id} />
        </>
      )}
    </section>
  );
}
