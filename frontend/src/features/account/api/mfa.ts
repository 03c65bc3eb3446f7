import type { BackupCodes, MfaSetup, MfaStatus } from '@/features/account/types/account';
import { apiClient } from '@/lib/api-client';

/** GET /api/auth/2fa: on/off and the backup codes left. */
export async function getMfaStatus(): Promise<MfaStatus> {
  const { data } = await apiClient.get<MfaStatus>('/api/auth/2fa');
  return data;
}

/** POST /api/auth/2fa/setup: a fresh secret and its QR code (not active until enabled). */
export async function setupMfa(): Promise<MfaSetup> {
  const { data } = await apiClient.post<MfaSetup>('/api/auth/2fa/setup');
  return data;
}

/** POST /api/auth/2fa/enable: confirm with a code; answers the backup codes, shown once. */
export async function enableMfa(code: string): Promise<string[]> {
  const { data } = await apiClient.post<BackupCodes>('/api/auth/2fa/enable', { code });
  return data.backup_codes;
}

/** POST /api/auth/2fa/disable with a current authenticator code. */
export async function disableMfa(code: string): Promise<void> {
  await apiClient.post('/api/auth/2fa/disable', { code });
}

/** POST /api/auth/2fa/backup-codes: a new set; the old codes stop working. */
export async function regenerateBackupCodes(): Promise<string[]> {
  const { data } = await apiClient.post<BackupCodes>('/api/auth/2fa/backup-codes');
  return data.backup_codes;
}
