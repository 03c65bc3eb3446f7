import { useEffect } from 'react';
import { Outlet } from 'react-router-dom';

import { uploadRunner } from '@/features/upload/utils/upload-runner';
import { useAuth } from '@/lib/auth';
import { usePreferencesSync } from '@/lib/preferences/use-preferences';

/**
 * Keeps the offline upload queue moving on every signed-in screen, not only on the upload
 * page: a study queued offline is sent when the network returns even if the user is
 * reading reports (Background Sync does the same where the browser supports it).
 */
export function UploadQueueRunner() {
  const { user } = useAuth();
  const ownerId = user?.id ?? null;
  useEffect(() => (ownerId ? uploadRunner.start(ownerId) : undefined), [ownerId]);
  // Preference changes made offline are sent when the network returns, whatever the screen.
  usePreferencesSync();
  return <Outlet />;
}
