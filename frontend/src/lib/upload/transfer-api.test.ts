import { describe, expect, it, vi } from 'vitest';

import { TransferApi, TransferHttpError } from '@/lib/upload/transfer-api';

describe('TransferApi.cancel', () => {
  it("sends DELETE /api/upload/{id} with the upload's own token, no access token", async () => {
    const fetchImpl = vi.fn(async () => new Response(null, { status: 204 }));
    const api = new TransferApi({ baseUrl: '', uploadId: 'u1', uploadToken: 'tok', fetchImpl });
    await api.cancel();
    expect(fetchImpl).toHaveBeenCalledTimes(1);
    const [url, init] = fetchImpl.mock.calls[0] as unknown as [string, RequestInit];
    expect(url).toBe('/api/upload/u1');
    expect(init.method).toBe('DELETE');
    expect(init.headers).toMatchObject({ 'X-Upload-Token': 'tok' });
    expect(init.headers).not.toHaveProperty('Authorization');
  });

  it('reports a refusal (e.g. already completed) with its error code', async () => {
    const body = { error: { code: 'upload_completed', message: 'done' } };
    const fetchImpl = vi.fn(async () => new Response(JSON.stringify(body), { status: 409 }));
    const api = new TransferApi({ baseUrl: '', uploadId: 'u1', uploadToken: 'tok', fetchImpl });
    await expect(api.cancel()).rejects.toMatchObject({ status: 409, code: 'upload_completed' });
    await expect(api.cancel()).rejects.toBeInstanceOf(TransferHttpError);
  });
});
