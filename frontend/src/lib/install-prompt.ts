import { useCallback, useEffect, useState, useSyncExternalStore } from 'react';

/** Chromium's install event (not in lib.dom yet). */
export interface BeforeInstallPromptEvent extends Event {
  prompt(): Promise<void>;
  readonly userChoice: Promise<{ outcome: 'accepted' | 'dismissed'; platform: string }>;
}

export const VISITS_KEY = 'relaypacs.visits';
export const VISIT_COUNTED_KEY = 'relaypacs.visit-counted';
export const DISMISSED_KEY = 'relaypacs.install-dismissed-at';
export const MIN_VISITS = 2;
export const ENGAGEMENT_MS = 30_000;
const DISMISS_FOR_MS = 7 * 24 * 3600 * 1000;

interface InstallState {
  deferred: BeforeInstallPromptEvent | null;
  installed: boolean;
}

let state: InstallState = { deferred: null, installed: false };
const listeners = new Set<() => void>();
let capturing = false;

function update(next: Partial<InstallState>) {
  state = { ...state, ...next };
  listeners.forEach((listener) => listener());
}

/**
 * Capture `beforeinstallprompt` (keeping the browser's own mini-infobar away) and `appinstalled`.
 * Called once at start-up, before React renders, so an early event is not missed.
 */
export function startInstallPromptCapture(target: Window = window): () => void {
  if (capturing) return () => {};
  capturing = true;
  const onPrompt = (event: Event) => {
    event.preventDefault();
    update({ deferred: event as BeforeInstallPromptEvent });
  };
  const onInstalled = () => update({ deferred: null, installed: true });
  target.addEventListener('beforeinstallprompt', onPrompt);
  target.addEventListener('appinstalled', onInstalled);
  return () => {
    capturing = false;
    target.removeEventListener('beforeinstallprompt', onPrompt);
    target.removeEventListener('appinstalled', onInstalled);
  };
}

/** Count this browsing session as one visit (reloads in the same tab session do not count). */
export function recordVisit(local: Storage = localStorage, session: Storage = sessionStorage): number {
  const visits = Number(local.getItem(VISITS_KEY) ?? '0') || 0;
  if (session.getItem(VISIT_COUNTED_KEY)) return visits;
  session.setItem(VISIT_COUNTED_KEY, '1');
  local.setItem(VISITS_KEY, String(visits + 1));
  return visits + 1;
}

function recentlyDismissed(local: Storage, now: number): boolean {
  const at = Number(local.getItem(DISMISSED_KEY) ?? '0') || 0;
  return at > 0 && now - at < DISMISS_FOR_MS;
}

function subscribe(listener: () => void) {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

function snapshot() {
  return state;
}

export interface InstallPromptOptions {
  minVisits?: number;
  engagementMs?: number;
  local?: Storage;
  session?: Storage;
}

export interface InstallPrompt {
  /** Show our install invitation now. */
  visible: boolean;
  /** `appinstalled` fired in this session: show the success message. */
  installed: boolean;
  install: () => Promise<'accepted' | 'dismissed' | 'unavailable'>;
  dismiss: () => void;
  acknowledgeInstalled: () => void;
}

/** The custom install prompt: offered after `minVisits` visits or `engagementMs` of use. */
export function useInstallPrompt({
  minVisits = MIN_VISITS,
  engagementMs = ENGAGEMENT_MS,
  local = globalThis.localStorage,
  session = globalThis.sessionStorage,
}: InstallPromptOptions = {}): InstallPrompt {
  const { deferred, installed } = useSyncExternalStore(subscribe, snapshot, snapshot);
  const [visits] = useState(() => recordVisit(local, session));
  const [engaged, setEngaged] = useState(false);
  const [dismissed, setDismissed] = useState(() => recentlyDismissed(local, Date.now()));
  const [installedAcknowledged, setInstalledAcknowledged] = useState(false);

  useEffect(() => {
    if (engaged) return;
    const timer = setTimeout(() => setEngaged(true), engagementMs);
    return () => clearTimeout(timer);
  }, [engaged, engagementMs]);

  const install = useCallback(async () => {
    const event = snapshot().deferred;
    if (!event) return 'unavailable' as const;
    await event.prompt();
    const choice = await event.userChoice;
    update({ deferred: null });
    if (choice.outcome === 'dismissed') {
      local.setItem(DISMISSED_KEY, String(Date.now()));
      setDismissed(true);
    }
    return choice.outcome;
  }, [local]);

  const dismiss = useCallback(() => {
    local.setItem(DISMISSED_KEY, String(Date.now()));
    setDismissed(true);
  }, [local]);

  return {
    visible: Boolean(deferred) && !installed && !dismissed && (visits >= minVisits || engaged),
    installed: installed && !installedAcknowledged,
    install,
    dismiss,
    acknowledgeInstalled: () => setInstalledAcknowledged(true),
  };
}

/** Test helper: forget captured events and listeners. */
export function resetInstallPromptForTests() {
  state = { deferred: null, installed: false };
  capturing = false;
}
