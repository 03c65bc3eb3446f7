import type { InputHTMLAttributes, ReactNode } from 'react';

import { TextField } from '@/components/ui/text-field';
import type { AutoSaveField as Field, SaveState } from '@/features/account/hooks/use-auto-save-field';

const STATUS: Record<SaveState['kind'], string> = {
  idle: '',
  saving: 'Saving…',
  saved: 'Saved',
  failed: '',
};

/** A text field that saves itself on blur, with its own saved / failed state. */
export function AutoSaveTextField({
  label,
  field,
  note,
  ...input
}: {
  label: string;
  field: Field;
  note?: ReactNode;
} & Omit<InputHTMLAttributes<HTMLInputElement>, 'value' | 'onChange' | 'onBlur' | 'id'>) {
  const { state } = field;
  return (
    <div className="autosave" data-save-state={state.kind}>
      <TextField
        label={label}
        value={field.value}
        onChange={(event) => field.setValue(event.target.value)}
        onBlur={() => void field.commit()}
        onKeyDown={(event) => {
          if (event.key === 'Enter') {
            event.preventDefault();
            void field.commit();
          }
        }}
        error={state.kind === 'failed' ? state.message : null}
        hint={
          <>
            {note}
            <span className={`save-state save-state-${state.kind}`} role="status">
              {STATUS[state.kind]}
            </span>
          </>
        }
        {...input}
      />
    </div>
  );
}
