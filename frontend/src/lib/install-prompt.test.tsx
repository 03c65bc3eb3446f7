import { act, render, screen } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

import { InstallPrompt } from '@/components/ui/install-prompt';
import {
  DISMISSED_KEY,
  recordVisit,
  resetInstallPromptForTests,
  startInstallPromptCapture,
  VISITS_KEY,
} from '@/lib/install-prompt';

function fireBeforeInstallPrompt(outcome: 'accepted' | 'dismissed' = 'accepted') {
  const event = Object.assign(new Event('beforeinstallprompt', { cancelable: true }), {
    prompt: vi.fn(async () => {}),
    userChoice: Promise.resolve({ outcome, platform: 'web' }),
  });
  act(() => {
    window.dispatchEvent(event);
  });
  return event;
}

describe('install prompt', () => {
  let stop: () => void;

  beforeEach(() => {
    localStorage.clear();
    sessionStorage.clear();
    resetInstallPromptForTests();
    stop = startInstallPromptCapture(window);
  });

  afterEach(() => {
    stop();
    vi.useRealTimers();
  });

  it('counts one visit per browsing session', () => {
    expect(recordVisit()).toBe(1);
    expect(recordVisit()).toBe(1); // a reload in the same session
    sessionStorage.clear(); // a new session
    expect(recordVisit()).toBe(2);
    expect(localStorage.getItem(VISITS_KEY)).toBe('2');
  });

  it('on a first visit waits for 30 s of engagement', () => {
    vi.useFakeTimers();
    const event = fireBeforeInstallPrompt();
    expect(event.defaultPrevented).toBe(true); // the browser's own infobar is held back
    render(<InstallPrompt />);
    expect(screen.queryByRole('heading', { name: 'Install RelayPACS' })).not.toBeInTheDocument();
    act(() => vi.advanceTimersByTime(29_000));
    expect(screen.queryByRole('heading', { name: 'Install RelayPACS' })).not.toBeInTheDocument();
    act(() => vi.advanceTimersByTime(1_000));
    expect(screen.getByRole('heading', { name: 'Install RelayPACS' })).toBeInTheDocument();
  });

  it('shows at once from the second visit on', () => {
    localStorage.setItem(VISITS_KEY, '1'); // this render is visit 2
    fireBeforeInstallPrompt();
    render(<InstallPrompt />);
    expect(screen.getByRole('heading', { name: 'Install RelayPACS' })).toBeInTheDocument();
  });

  it('never shows without the browser offering installation', () => {
    vi.useFakeTimers();
    localStorage.setItem(VISITS_KEY, '5');
    render(<InstallPrompt />);
    act(() => vi.advanceTimersByTime(60_000));
    expect(screen.queryByRole('heading', { name: 'Install RelayPACS' })).not.toBeInTheDocument();
  });

  it('installs through the captured event and confirms after appinstalled', async () => {
    localStorage.setItem(VISITS_KEY, '1');
    const event = fireBeforeInstallPrompt('accepted');
    render(<InstallPrompt />);
    await userEvent.click(screen.getByRole('button', { name: 'Install' }));
    expect(event.prompt).toHaveBeenCalledTimes(1);
    act(() => {
      window.dispatchEvent(new Event('appinstalled'));
    });
    expect(screen.getByRole('status')).toHaveTextContent('RelayPACS is installed');
    await userEvent.click(screen.getByRole('button', { name: 'Close' }));
    expect(screen.queryByText(/RelayPACS is installed/)).not.toBeInTheDocument();
  });

  it('"Not now" hides it and remembers the choice', async () => {
    localStorage.setItem(VISITS_KEY, '1');
    fireBeforeInstallPrompt();
    const { unmount } = render(<InstallPrompt />);
    await userEvent.click(screen.getByRole('button', { name: 'Not now' }));
    expect(screen.queryByRole('heading', { name: 'Install RelayPACS' })).not.toBeInTheDocument();
    expect(localStorage.getItem(DISMISSED_KEY)).not.toBeNull();
    unmount();
    render(<InstallPrompt />);
    expect(screen.queryByRole('heading', { name: 'Install RelayPACS' })).not.toBeInTheDocument();
  });
});
