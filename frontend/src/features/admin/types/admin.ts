import type { Schemas } from '@/types/api';

export type Role = Schemas['Role'];
export type AdminUser = Schemas['UserRead'];
export type UserPage = Schemas['UserPage'];
export type UserCreate = Schemas['UserCreate'];
export type InvitationCreate = Schemas['InvitationCreate'];
export type UserUpdate = Schemas['UserUpdate'];
export type UserSession = Schemas['SessionRead'];
export type Facility = Schemas['FacilityRead'];
export type AuditEvent = Schemas['AuditEventRead'];
export type AuditPage = Schemas['AuditEventPage'];
export type Destination = Schemas['DestinationRead'];
export type DeadLetter = Schemas['DeadLetterRead'];
export type DeadLetterPage = Schemas['DeadLetterPage'];

/** In the order the role filter and pickers offer them. */
export const ROLES: Role[] = ['clinician', 'radiographer', 'radiologist', 'admin'];

export const ROLE_LABELS: Record<Role, string> = {
  clinician: 'Clinician',
  radiographer: 'Radiographer',
  radiologist: 'Radiologist',
  admin: 'Administrator',
};

export const AUDIT_OUTCOMES = ['success', 'failure', 'denied'] as const;
export type AuditOutcome = (typeof AUDIT_OUTCOMES)[number];
