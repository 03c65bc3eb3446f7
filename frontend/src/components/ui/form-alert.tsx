import type { ReactNode } from 'react';

/** An error (role=alert, announced at once) or a notice (role=status) above or below a form. */
export function FormAlert({ kind = 'error', children }: { kind?: 'error' | 'success' | 'info'; children: ReactNode }) {
  return (
    <div className={`alert alert-${kind}`} role={kind === 'error' ? 'alert' : 'status'}>
      {children}
    </div>
  );
}
