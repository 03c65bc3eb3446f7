import { useCallback, useRef, useState, type ReactNode } from 'react';

import { ReauthPrompt } from '@/features/account/components/reauth-prompt';
import { errorCode } from '@/lib/api-client';

/** Thrown by `run` when the user closes the password prompt instead of confirming. */
export class ReauthCancelled extends Error {
  constructor() {
    super('Cancelled.');
    this.name = 'ReauthCancelled';
  }
}

interface Pending {
  resolve: () => void;
  reject: (error: Error) => void;
}

/**
 * Account changes that need a recent sign-in: `run(action)` tries the action; when the API
 * answers 403 `reauthentication_required` it shows `prompt` (password, and a 2FA code when on),
 * POSTs /api/auth/reauth and tries the action once more.
 */
export function useReauth({ mfaEnabled }: { mfaEnabled: boolean }): {
  run: <T>(action: () => Promise<T>) => Promise<T>;
  prompt: ReactNode;
} {
  const [pending, setPending] = useState<Pending | null>(null);
  const pendingRef = useRef<Pending | null>(null);

  const run = useCallback(async <T,>(action: () => Promise<T>): Promise<T> => {
    try {
      return await action();
    } catch (caught) {
      if (errorCode(caught) !== 'reauthentication_required') throw caught;
    }
    await new Promise<void>((resolve, reject) => {
      pendingRef.current = { resolve, reject };
      setPending(pendingRef.current);
    });
    return action();
  }, []);

  const settle = useCallback((confirmed: boolean) => {
    const current = pendingRef.current;
    pendingRef.current = null;
    setPending(null);
    if (confirmed) current?.resolve();
    else current?.reject(new ReauthCancelled());
  }, []);

  const prompt = pending ? (
    <ReauthPrompt mfaEnabled={mfaEnabled} onConfirmed={() => settle(true)} onCancel={() => settle(false)} />
  ) : null;
  return { run, prompt };
}
