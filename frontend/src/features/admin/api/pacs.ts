import type { DeadLetterPage, Destination } from '@/features/admin/types/admin';
import { apiClient } from '@/lib/api-client';

export const DEAD_LETTERS_PAGE_SIZE = 25;

export async function listDestinations(): Promise<Destination[]> {
  const { data } = await apiClient.get<{ items: Destination[] }>('/api/pacs/destinations');
  return data.items;
}

export async function listDeadLetters(page: number): Promise<DeadLetterPage> {
  const { data } = await apiClient.get<DeadLetterPage>('/api/pacs/dead-letters', {
    params: { page, page_size: DEAD_LETTERS_PAGE_SIZE },
  });
  return data;
}

export async function retryJob(jobId: string): Promise<void> {
  await apiClient.post(`/api/pacs/jobs/${encodeURIComponent(jobId)}/retry`, {});
}
