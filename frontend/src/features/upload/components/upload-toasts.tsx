import { useEffect } from 'react';

import type { Toast } from '@/features/upload/utils/upload-runner';

const TOAST_MS = 8_000;

function ToastItem({ toast, onDismiss }: { toast: Toast; onDismiss: (id: number) => void }) {
  useEffect(() => {
    const timer = setTimeout(() => onDismiss(toast.id), TOAST_MS);
    return () => clearTimeout(timer);
  }, [toast.id, onDismiss]);
  return (
    <li className={`toast toast--${toast.kind}`} data-testid="upload-toast">
      <span>{toast.message}</span>
      <button type="button" className="toast__close" aria-label="Dismiss message" onClick={() => onDismiss(toast.id)}>
        ×
      </button>
    </li>
  );
}

/** In-app messages, announced politely to screen readers. */
export function UploadToasts({ toasts, onDismiss }: { toasts: Toast[]; onDismiss: (id: number) => void }) {
  return (
    <ul className="toasts" aria-live="polite" aria-atomic="false">
      {toasts.map((t) => (
        <ToastItem key={t.id} toast={t} onDismiss={onDismiss} />
      ))}
    </ul>
  );
}
