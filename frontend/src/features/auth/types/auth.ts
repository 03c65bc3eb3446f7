import type { Schemas, TokenPair } from '@/types/api';

export type MfaChallenge = Schemas['MfaChallenge'];

export type LoginResult = TokenPair | MfaChallenge;

export function isMfaChallenge(result: LoginResult): result is MfaChallenge {
  return 'mfa_required' in result && result.mfa_required === true;
}

export type RegisterInput = Schemas['RegisterRequest'];
export type RegistrableRole = RegisterInput['role'];

export type FacilityOption = Schemas['FacilityOption'];

export type Accepted = Schemas['Accepted'];
export type EmailVerified = Schemas['EmailVerified'];
