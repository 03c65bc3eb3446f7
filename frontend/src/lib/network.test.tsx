import { act, render, screen } from '@testing-library/react';
import { afterEach, describe, expect, it, vi } from 'vitest';

import { NetworkBanner } from '@/components/ui/network-banner';
import { useOnline } from '@/lib/network';

function setOnline(value: boolean) {
  vi.spyOn(navigator, 'onLine', 'get').mockReturnValue(value);
  window.dispatchEvent(new Event(value ? 'online' : 'offline'));
}

function Probe() {
  return <p>{useOnline() ? 'online' : 'offline'}</p>;
}

describe('useOnline', () => {
  afterEach(() => {
    vi.restoreAllMocks();
    vi.useRealTimers();
  });

  it('starts from navigator.onLine and follows online/offline events', () => {
    vi.spyOn(navigator, 'onLine', 'get').mockReturnValue(false);
    render(<Probe />);
    expect(screen.getByText('offline')).toBeInTheDocument();
    act(() => setOnline(true));
    expect(screen.getByText('online')).toBeInTheDocument();
    act(() => setOnline(false));
    expect(screen.getByText('offline')).toBeInTheDocument();
  });

  it('stops listening after unmount', () => {
    const remove = vi.spyOn(window, 'removeEventListener');
    const { unmount } = render(<Probe />);
    unmount();
    expect(remove.mock.calls.map(([type]) => type)).toEqual(expect.arrayContaining(['online', 'offline']));
  });
});

describe('NetworkBanner', () => {
  afterEach(() => {
    vi.restoreAllMocks();
    vi.useRealTimers();
  });

  it('announces offline, then briefly "Back online"', () => {
    vi.useFakeTimers();
    vi.spyOn(navigator, 'onLine', 'get').mockReturnValue(true);
    render(<NetworkBanner />);
    expect(screen.getByRole('status')).toBeEmptyDOMElement();

    act(() => setOnline(false));
    expect(screen.getByRole('status')).toHaveTextContent('You are offline');

    act(() => setOnline(true));
    expect(screen.getByRole('status')).toHaveTextContent('Back online.');
    act(() => vi.advanceTimersByTime(4100));
    expect(screen.getByRole('status')).toBeEmptyDOMElement();
  });
});
