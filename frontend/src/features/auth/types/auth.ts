import type { TokenPair } from '@/types/api';

export interface MfaChallenge {
  mfa_required: true;
  mfa_token: string;
  expires_in: number;
}

export type LoginResult = TokenPair | MfaChallenge;

export function isMfaChallenge(result: LoginResult): result is MfaChallenge {
  return 'mfa_required' in result && result.mfa_required === true;
}

export type RegistrableRole = 'clinician' | 'radiographer';

export interface RegisterInput {
  email: string;
  username: string;
  full_name: string;
  facility: string;
  role: RegistrableRole;
  password: string;
}

export interface Accepted {
  status: 'accepted';
  message: string;
}

export interface EmailVerified {
  status: 'verified';
  email: string;
}
