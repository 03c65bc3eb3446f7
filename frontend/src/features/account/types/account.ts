import type { Schemas } from '@/types/api';

export type Profile = Schemas['ProfileRead'];
export type ProfileChanges = Schemas['ProfileUpdate'];
export type MfaStatus = Schemas['MfaStatus'];
export type MfaSetup = Schemas['MfaSetup'];
export type BackupCodes = Schemas['BackupCodes'];
export type AccountSession = Schemas['SessionRead'];
export type RevokedCount = Schemas['RevokedCount'];
export type ReauthInput = Schemas['ReauthRequest'];

/** The profile fields a user edits (auto-saved one at a time). */
export type EditableProfileField = 'full_name' | 'email';
