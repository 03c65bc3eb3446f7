import { useId, type FormEvent } from 'react';

import { SERVICE_LEVELS, type ServiceLevel, type StudyMetadata } from '@/lib/upload/types';

const COMMON_MODALITIES = ['CT', 'MR', 'CR', 'DX', 'US', 'MG', 'NM', 'PT', 'XA', 'RF', 'OT'];

export interface StudyFormValues {
  patientName: string;
  studyDate: string;
  modality: string;
  serviceLevel: ServiceLevel;
  notes: string;
}

export function toMetadata(values: StudyFormValues): StudyMetadata {
  return {
    patient_name: values.patientName.trim(),
    study_date: values.studyDate,
    // Typed free text: the server checks it against the DICOM modality codes (422 otherwise).
    modality: values.modality.trim().toUpperCase() as StudyMetadata['modality'],
    service_level: values.serviceLevel,
    notes: values.notes.trim() || null,
  };
}

interface StudyFormProps {
  values: StudyFormValues;
  onChange: (values: StudyFormValues) => void;
  onSubmit: (mode: 'now' | 'later') => void;
  online: boolean;
  fileCount: number;
  busy: boolean;
  prefilled: boolean;
}

/** The study's metadata and the send buttons ("Upload now" online, "Queue for later" offline). */
export function StudyForm({ values, onChange, onSubmit, online, fileCount, busy, prefilled }: StudyFormProps) {
  const id = useId();
  const set = <K extends keyof StudyFormValues>(key: K, value: StudyFormValues[K]) =>
    onChange({ ...values, [key]: value });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    onSubmit(online ? 'now' : 'later');
  };
  const cannotSend = fileCount === 0 || busy;

  return (
    <form className="upload-form" onSubmit={submit} aria-labelledby={`${id}-title`}>
      <h2 id={`${id}-title`}>Study details</h2>
      {prefilled && (
        <p className="upload-form__note" data-testid="upload-prefilled">
          Filled in from the first file's DICOM header — check before sending.
        </p>
      )}
      <div className="field">
        <label htmlFor={`${id}-patient`}>Patient name</label>
        <input
          id={`${id}-patient`}
          name="patient_name"
          required
          maxLength={200}
          autoComplete="off"
          value={values.patientName}
          onChange={(e) => set('patientName', e.target.value)}
        />
      </div>
      <div className="field-row">
        <div className="field">
          <label htmlFor={`${id}-date`}>Study date</label>
          <input
            id={`${id}-date`}
            name="study_date"
            type="date"
            required
            value={values.studyDate}
            onChange={(e) => set('studyDate', e.target.value)}
          />
        </div>
        <div className="field">
          <label htmlFor={`${id}-modality`}>Modality</label>
          <input
            id={`${id}-modality`}
            name="modality"
            required
            list={`${id}-modalities`}
            maxLength={16}
            autoCapitalize="characters"
            pattern="[A-Za-z0-9]{1,16}"
            title="A DICOM modality code, e.g. CT, MR, CR, DX, US"
            value={values.modality}
            onChange={(e) => set('modality', e.target.value.toUpperCase())}
          />
          <datalist id={`${id}-modalities`}>
            {COMMON_MODALITIES.map((m) => (
              <option key={m} value={m} />
            ))}
          </datalist>
        </div>
      </div>
      <fieldset className="field">
        <legend>Service level</legend>
        <div className="segmented">
          {SERVICE_LEVELS.map((level) => (
            <label key={level} className="segmented__option">
              <input
                type="radio"
                name="service_level"
                value={level}
                checked={values.serviceLevel === level}
                onChange={() => set('serviceLevel', level)}
              />
              <span>{level.charAt(0) + level.slice(1).toLowerCase()}</span>
            </label>
          ))}
        </div>
      </fieldset>
      <div className="field">
        <label htmlFor={`${id}-notes`}>Notes (optional)</label>
        <textarea
          id={`${id}-notes`}
          name="notes"
          rows={3}
          maxLength={2000}
          value={values.notes}
          onChange={(e) => set('notes', e.target.value)}
        />
      </div>
      <div className="upload-form__actions">
        <button
          type="submit"
          className="btn btn--primary"
          disabled={!online || cannotSend}
          aria-describedby={!online ? `${id}-offline` : undefined}
        >
          Upload now
        </button>
        {!online && (
          <>
            <button type="button" className="btn" disabled={cannotSend} onClick={() => onSubmit('later')}>
              Queue for later
            </button>
            <p id={`${id}-offline`} className="upload-form__note" role="status">
              You are offline. Queue the study and it will be sent when the connection returns.
            </p>
          </>
        )}
      </div>
    </form>
  );
}
