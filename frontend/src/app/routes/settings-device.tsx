import { DevicePage } from '@/features/device/components/device-page';
import { uploadRunner } from '@/features/upload/utils/upload-runner';

/** This device, with the upload runner told to stop (and cancel on the server) what is deleted. */
export function SettingsDeviceRoute() {
  return (
    <DevicePage
      stopUploads={async (ids) => {
        for (const id of ids) await uploadRunner.cancel(id);
      }}
    />
  );
}
