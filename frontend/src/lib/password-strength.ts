import { useEffect, useState } from 'react';

export interface PasswordStrength {
  /** 0 (too guessable) … 4 (very unguessable); the server accepts 3 and up. */
  score: 0 | 1 | 2 | 3 | 4;
  warning: string | null;
  suggestions: string[];
}

export const MIN_LENGTH = 12;
export const MIN_SCORE = 3;

type Checker = (password: string, userInputs: string[]) => PasswordStrength;
let checkerPromise: Promise<Checker> | null = null;

/** zxcvbn-ts and its word lists (~1 MB) load on first use, in their own chunk. */
export function loadChecker(): Promise<Checker> {
  checkerPromise ??= Promise.all([
    import('@zxcvbn-ts/core'),
    import('@zxcvbn-ts/language-common'),
    import('@zxcvbn-ts/language-en'),
  ]).then(([core, common, en]) => {
    const factory = new core.ZxcvbnFactory({
      translations: en.translations,
      graphs: common.adjacencyGraphs,
      dictionary: { ...common.dictionary, ...en.dictionary },
    });
    return (password, userInputs) => {
      const result = factory.check(password.slice(0, 100), userInputs);
      return {
        score: result.score,
        warning: result.feedback.warning || null,
        suggestions: result.feedback.suggestions,
      };
    };
  });
  return checkerPromise;
}

/** Live strength of `password` (null while empty or still loading). */
export function usePasswordStrength(password: string, userInputs: string[]): PasswordStrength | null {
  const [strength, setStrength] = useState<PasswordStrength | null>(null);
  const inputsKey = userInputs.join('\u0000');
  useEffect(() => {
    if (!password) {
      setStrength(null);
      return;
    }
    let cancelled = false;
    const timer = setTimeout(() => {
      void loadChecker().then((check) => {
        if (!cancelled) setStrength(check(password, inputsKey ? inputsKey.split('\u0000') : []));
      });
    }, 120);
    return () => {
      cancelled = true;
      clearTimeout(timer);
    };
  }, [password, inputsKey]);
  return strength;
}
