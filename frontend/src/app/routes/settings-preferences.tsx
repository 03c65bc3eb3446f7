import { UploadPreferencesPage } from '@/features/preferences/components/upload-preferences-page';

export function SettingsPreferencesRoute() {
  return <UploadPreferencesPage />;
}
