import { UploadPage } from '@/features/upload/components/upload-page';

export function UploadRoute() {
  return <UploadPage />;
}
