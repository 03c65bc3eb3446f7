import { render } from '@testing-library/react';
import { MemoryRouter, Route, Routes } from 'react-router-dom';
import { afterEach, describe, expect, it, vi } from 'vitest';

const start = vi.fn((_ownerId: string | null) => stop);
const stop = vi.fn();
let currentUser: { id: string } | null = { id: 'u1' };

vi.mock('@/features/upload/utils/upload-runner', () => ({
  uploadRunner: { start: (ownerId: string | null) => start(ownerId) },
}));
vi.mock('@/lib/auth', () => ({ useAuth: () => ({ user: currentUser }) }));

import { UploadQueueRunner } from '@/app/upload-queue-runner';

function renderAt(path: string) {
  return render(
    <MemoryRouter initialEntries={[path]}>
      <Routes>
        <Route element={<UploadQueueRunner />}>
          <Route path="/reports" element={<p>reports</p>} />
        </Route>
      </Routes>
    </MemoryRouter>,
  );
}

describe('UploadQueueRunner', () => {
  afterEach(() => {
    start.mockClear();
    stop.mockClear();
    currentUser = { id: 'u1' };
  });

  it('keeps the upload queue running on screens other than the upload page', () => {
    const view = renderAt('/reports');
    expect(view.getByText('reports')).toBeTruthy();
    expect(start).toHaveBeenCalledWith('u1');
    view.unmount();
    expect(stop).toHaveBeenCalledTimes(1);
  });

  it('does not run the queue without a signed-in user', () => {
    currentUser = null;
    renderAt('/reports');
    expect(start).not.toHaveBeenCalled();
  });
});
