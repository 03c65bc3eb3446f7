import { useCallback, useEffect, useRef, useState } from 'react';

import { FileDropZone } from '@/features/upload/components/file-drop-zone';
import { SkippedFiles } from '@/features/upload/components/skipped-files';
import { StudyForm, toMetadata, type StudyFormValues } from '@/features/upload/components/study-form';
import { UploadQueue } from '@/features/upload/components/upload-queue';
import { UploadToasts } from '@/features/upload/components/upload-toasts';
import { useUploadQueue } from '@/features/upload/hooks/use-upload-queue';
import { displayPath, scanFiles, sortByPath, type ScannedFiles } from '@/features/upload/utils/collect-files';
import { formatBytes } from '@/features/upload/utils/format';
import { uploadRunner } from '@/features/upload/utils/upload-runner';
import { useAuth } from '@/lib/auth';
import { useOnline } from '@/lib/network';
import { usePreferences } from '@/lib/preferences/use-preferences';
import { readHeaderPrefill } from '@/lib/upload/dicom';

import './upload-page.css';

const EMPTY_FORM: StudyFormValues = {
  patientName: '',
  studyDate: '',
  modality: '',
  serviceLevel: 'ROUTINE',
  notes: '',
};

function NotificationOptIn() {
  const [permission, setPermission] = useState(() =>
    typeof Notification === 'undefined' ? 'unsupported' : Notification.permission,
  );
  if (permission !== 'default') return null;
  return (
    <button
      type="button"
      className="btn btn--small btn--link"
      onClick={() => void Notification.requestPermission().then(setPermission)}
    >
      Notify me when queued uploads finish
    </button>
  );
}

export function UploadPage() {
  const { user } = useAuth();
  const online = useOnline();
  const snapshot = useUploadQueue(user?.id ?? null);
  // Settings → Upload preferences, from IndexedDB first (so offline too).
  const { preferences } = usePreferences();
  const defaultLevel = preferences?.default_service_level ?? null;
  const chunkSize = preferences?.chunk_size;
  const [scanned, setScanned] = useState<ScannedFiles | null>(null);
  const [scanning, setScanning] = useState(false);
  const [saving, setSaving] = useState(false);
  const [prefilled, setPrefilled] = useState(false);
  const [form, setForm] = useState<StudyFormValues>(EMPTY_FORM);
  const levelTouched = useRef(false);
  const selection = useRef(0);

  useEffect(() => {
    if (defaultLevel && !levelTouched.current) setForm((f) => ({ ...f, serviceLevel: defaultLevel }));
  }, [defaultLevel]);

  const onFiles = useCallback(async (files: File[]) => {
    if (files.length === 0) return;
    const token = ++selection.current;
    setScanning(true);
    try {
      const result = await scanFiles(sortByPath(files));
      if (token !== selection.current) return;
      setScanned(result);
      const first = result.dicom[0];
      const header = first ? await readHeaderPrefill(first) : {};
      if (token !== selection.current) return;
      setPrefilled(Boolean(header.patientName || header.studyDate || header.modality));
      setForm((f) => ({
        ...f,
        patientName: header.patientName ?? f.patientName,
        studyDate: header.studyDate ?? f.studyDate,
        modality: header.modality ?? f.modality,
      }));
    } finally {
      if (token === selection.current) setScanning(false);
    }
  }, []);

  const onChange = (values: StudyFormValues) => {
    if (values.serviceLevel !== form.serviceLevel) levelTouched.current = true;
    setForm(values);
  };

  const onSubmit = async () => {
    if (!scanned || scanned.dicom.length === 0) return;
    setSaving(true);
    try {
      await uploadRunner.enqueue({ metadata: toMetadata(form), files: scanned.dicom, chunkSize });
      setScanned(null);
      setPrefilled(false);
      setForm({ ...EMPTY_FORM, serviceLevel: form.serviceLevel });
    } catch (error) {
      uploadRunner.toast(
        'error',
        `The study could not be saved on this device: ${error instanceof Error ? error.message : String(error)}`,
      );
    } finally {
      setSaving(false);
    }
  };

  const count = scanned?.dicom.length ?? 0;
  const bytes = scanned?.dicom.reduce((s, f) => s + f.size, 0) ?? 0;

  return (
    <div className="upload-page">
      <h1>Send a study</h1>
      <section className="upload-select" aria-labelledby="upload-select-title">
        <h2 id="upload-select-title">Files</h2>
        <FileDropZone onFiles={(files) => void onFiles(files)} disabled={saving} />
        <p className="upload-select__summary" role="status" data-testid="upload-selection">
          {scanning
            ? 'Checking files…'
            : scanned
              ? `${count} DICOM file${count === 1 ? '' : 's'} selected (${formatBytes(bytes)})${
                  count > 0 ? `, first: ${displayPath(scanned.dicom[0]!)}` : ''
                }`
              : 'No files selected.'}
        </p>
        {scanned && <SkippedFiles skipped={scanned.skipped} />}
      </section>
      <StudyForm
        values={form}
        onChange={onChange}
        onSubmit={() => void onSubmit()}
        online={online}
        fileCount={count}
        busy={saving || scanning}
        prefilled={prefilled}
      />
      <UploadQueue snapshot={snapshot} runner={uploadRunner} online={online} />
      <NotificationOptIn />
      <UploadToasts toasts={snapshot.toasts} onDismiss={(id) => uploadRunner.dismissToast(id)} />
    </div>
  );
}
