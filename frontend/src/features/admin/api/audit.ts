import type { AuditPage } from '@/features/admin/types/admin';
import { type AuditFilters, auditParams } from '@/features/admin/utils/filters';
import { apiClient } from '@/lib/api-client';

export const AUDIT_PAGE_SIZE = 50;

export async function listAuditEvents(filters: AuditFilters, page: number): Promise<AuditPage> {
  const { data } = await apiClient.get<AuditPage>('/api/audit', {
    params: { ...auditParams(filters), page, page_size: AUDIT_PAGE_SIZE },
  });
  return data;
}
