import { useId, useRef, useState, type DragEvent } from 'react';

import { filesFromDataTransfer } from '@/features/upload/utils/collect-files';

interface FileDropZoneProps {
  onFiles: (files: File[]) => void;
  disabled?: boolean;
}

/** Pick files, pick a whole folder, or drop either here. */
export function FileDropZone({ onFiles, disabled = false }: FileDropZoneProps) {
  const [over, setOver] = useState(false);
  const filesInput = useRef<HTMLInputElement>(null);
  const folderInput = useRef<HTMLInputElement>(null);
  const hintId = useId();

  const onDrop = (event: DragEvent<HTMLDivElement>) => {
    event.preventDefault();
    setOver(false);
    if (disabled) return;
    // Take the entries now: the DataTransfer is emptied once this handler returns.
    void filesFromDataTransfer(event.dataTransfer).then(onFiles);
  };

  const fromInput = (input: HTMLInputElement | null) => {
    if (!input?.files) return;
    onFiles(Array.from(input.files));
    input.value = ''; // picking the same folder again still fires change
  };

  return (
    <div
      className={`upload-drop${over ? ' upload-drop--over' : ''}`}
      onDragOver={(event) => {
        event.preventDefault();
        event.dataTransfer.dropEffect = 'copy';
        setOver(true);
      }}
      onDragLeave={() => setOver(false)}
      onDrop={onDrop}
      aria-describedby={hintId}
      data-testid="upload-drop-zone"
    >
      <p id={hintId} className="upload-drop__hint">
        Drop DICOM files or a folder here, or choose them:
      </p>
      <div className="upload-drop__actions">
        <button type="button" className="btn" disabled={disabled} onClick={() => filesInput.current?.click()}>
          Choose files
        </button>
        <button type="button" className="btn" disabled={disabled} onClick={() => folderInput.current?.click()}>
          Choose a folder
        </button>
      </div>
      <input
        ref={filesInput}
        type="file"
        multiple
        hidden
        aria-label="DICOM files"
        data-testid="upload-files-input"
        onChange={(event) => fromInput(event.currentTarget)}
      />
      <input
        ref={folderInput}
        type="file"
        multiple
        hidden
        aria-label="Folder of DICOM files"
        data-testid="upload-folder-input"
        {...{ webkitdirectory: '', directory: '' }}
        onChange={(event) => fromInput(event.currentTarget)}
      />
    </div>
  );
}
