import { MIN_LENGTH, MIN_SCORE, type PasswordStrength } from '@/lib/password-strength';

const LABELS = ['Very weak', 'Weak', 'Fair', 'Strong', 'Very strong'] as const;

/** Live feedback under the password field (announced politely to screen readers). */
export function PasswordStrengthMeter({ password, strength }: { password: string; strength: PasswordStrength | null }) {
  if (!password) {
    return <p className="strength-hint">At least {MIN_LENGTH} characters; a few unrelated words work well.</p>;
  }
  const tooShort = password.length < MIN_LENGTH;
  const score = strength?.score ?? 0;
  const acceptable = !tooShort && score >= MIN_SCORE;
  return (
    <div className="strength" aria-live="polite">
      <meter
        className={`strength-meter strength-${score}`}
        min={0}
        max={4}
        low={2}
        high={3}
        optimum={4}
        value={tooShort ? Math.min(score, 1) : score}
        aria-label="Password strength"
      />
      <p className="strength-label">
        <strong>{tooShort ? 'Too short' : strength ? LABELS[score] : 'Checking…'}</strong>
        {acceptable ? ' — good to go.' : tooShort ? ` — ${MIN_LENGTH - password.length} more characters needed.` : ''}
      </p>
      {strength && !acceptable && (strength.warning || strength.suggestions.length > 0) && (
        <ul className="strength-feedback">
          {strength.warning && <li>{strength.warning}</li>}
          {strength.suggestions.map((suggestion) => (
            <li key={suggestion}>{suggestion}</li>
          ))}
        </ul>
      )}
    </div>
  );
}
