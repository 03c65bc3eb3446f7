/** Shapes shared across features, mirroring backend/relaypacs/auth/schemas.py and core/errors.py. */
export interface TokenPair {
  access_token: string;
  refresh_token: string;
  token_type: 'bearer';
  expires_in: number;
  refresh_expires_at: string;
}

export type Role = 'clinician' | 'radiographer' | 'admin' | 'auditor' | (string & {});

export interface Me {
  id: string;
  email: string;
  username: string;
  full_name: string;
  facility: string;
  role: Role;
  mfa_enabled: boolean;
  permissions: string[];
  session_id: string;
}

export interface ApiErrorField {
  loc: string[];
  message: string;
  type: string;
}

/** The backend's error body: `{"error": {"code", "message", ...details}}`. */
export interface ApiErrorBody {
  error: { code: string; message: string; fields?: ApiErrorField[]; [detail: string]: unknown };
}
