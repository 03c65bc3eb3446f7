/**
 * The API's shapes, generated from the backend's OpenAPI document (src/types/api.gen.ts, rebuilt
 * by `make api-types`). Features alias what they use from `Schemas`; nothing here is mirrored by
 * hand except the error body, which the OpenAPI document does not declare.
 */
import type { components } from '@/types/api.gen';

export type Schemas = components['schemas'];

export type TokenPair = Schemas['TokenPair'];
export type Role = Schemas['Role'];
export type Me = Schemas['Me'];
/** A permission of `/api/auth/me` (backend/relaypacs/core/permissions.py), e.g. `report:update`. */
export type Permission = Schemas['Permission'];

export interface ApiErrorField {
  loc: string[];
  message: string;
  type: string;
}

/** The backend's error body (core/errors.py): `{"error": {"code", "message", ...details}}`. */
export interface ApiErrorBody {
  error: { code: string; message: string; fields?: ApiErrorField[]; [detail: string]: unknown };
}
