import { useEffect, useSyncExternalStore } from 'react';

import { uploadRunner, type QueueSnapshot } from '@/features/upload/utils/upload-runner';

/** The upload queue, kept current; starts the page's sender for this user. */
export function useUploadQueue(ownerId: string | null): QueueSnapshot {
  useEffect(() => uploadRunner.start(ownerId), [ownerId]);
  return useSyncExternalStore(uploadRunner.subscribe, uploadRunner.getSnapshot, uploadRunner.getSnapshot);
}
