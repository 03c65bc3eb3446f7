import { useEffect, useRef, type ReactNode } from 'react';
import { NavLink, useLocation, useNavigate } from 'react-router-dom';

import { InstallPrompt } from '@/components/ui/install-prompt';
import { NetworkBanner } from '@/components/ui/network-banner';
import { paths } from '@/config/paths';
import { useAuth } from '@/lib/auth';
import { navEntries, type NavEntry } from '@/lib/authorization';
import type { Me } from '@/types/api';

/** Where each main navigation entry leads; which ones a user sees follows their permissions. */
const NAV: Record<NavEntry, { to: string; label: string }> = {
  upload: { to: paths.upload, label: 'Upload' },
  history: { to: paths.history, label: 'History' },
  reports: { to: paths.reports, label: 'Reports' },
  dashboard: { to: paths.dashboard, label: 'Dashboard' },
  admin: { to: paths.admin, label: 'Admin' },
};

export interface AppLayoutProps {
  children: ReactNode;
  /** A signed-in navigation entry composed by the app from a feature (the notification bell). */
  navExtra?: ReactNode;
}

export function AppLayout({ children, navExtra }: AppLayoutProps) {
  const { status, user, signOut } = useAuth();
  const navigate = useNavigate();
  const signedIn = status === 'signed-in';
  const location = useLocation();
  const main = useRef<HTMLElement>(null);
  const firstRender = useRef(true);

  // After a client-side navigation, move focus to the new page (as a full page load would).
  useEffect(() => {
    if (firstRender.current) {
      firstRender.current = false;
      return;
    }
    main.current?.focus();
  }, [location.pathname]);

  async function onSignOut() {
    await signOut();
    navigate(paths.login, { replace: true });
  }

  return (
    <div className="app">
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <header className="app-header">
        <div className="app-header-inner">
          <NavLink to={signedIn ? paths.home : paths.login} className="brand">
            <img src="/favicon.svg" alt="" width="28" height="28" />
            <span>RelayPACS</span>
          </NavLink>
          <nav aria-label="Main">
            <ul className="nav-list">
              {signedIn ? (
                <>
                  {navEntries(user).map((entry) => (
                    <li key={entry}>
                      <NavLink to={NAV[entry].to}>{NAV[entry].label}</NavLink>
                    </li>
                  ))}
                  {navExtra && <li>{navExtra}</li>}
                  <li>
                    <NavLink to={paths.settings}>Settings</NavLink>
                  </li>
                  <li>
                    <button type="button" className="link-button" onClick={() => void onSignOut()}>
                      Sign out
                      {user && <span className="visually-hidden"> ({user.username})</span>}
                    </button>
                  </li>
                </>
              ) : (
                <>
                  <li>
                    <NavLink to={paths.login}>Sign in</NavLink>
                  </li>
                  <li>
                    <NavLink to={paths.register}>Register</NavLink>
                  </li>
                </>
              )}
            </ul>
          </nav>
        </div>
      </header>
      <NetworkBanner />
      {user?.membership && <MembershipNotice membership={user.membership} />}
      <main id="main" ref={main} className="app-main" tabIndex={-1}>
        {children}
      </main>
      <InstallPrompt />
    </div>
  );
}

function MembershipNotice({ membership }: { membership: NonNullable<Me['membership']> }) {
  const place = membership.facility ? ` to ${membership.facility}` : '';
  return (
    <p className="membership-notice" role="status">
      Your request for access{place} as a {membership.role} is waiting for an administrator. Until then you see your
      own uploads and reports only.
    </p>
  );
}
