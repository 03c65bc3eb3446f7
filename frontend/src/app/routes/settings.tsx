import { NavLink, Outlet } from 'react-router-dom';

import '@/app/routes/settings.css';
import { paths } from '@/config/paths';
import { MyDataSection } from '@/features/account/components/my-data-section';
import { PasswordSection } from '@/features/account/components/password-section';
import { ProfileSection } from '@/features/account/components/profile-section';
import { SessionsSection } from '@/features/account/components/sessions-section';
import { TwoFactorSection } from '@/features/account/components/two-factor-section';

/** The Settings sections, in menu order: a new section is one line here and one route in router.tsx. */
export const settingsSections: { path: string; label: string }[] = [
  { path: paths.settingsProfile, label: 'Profile' },
  { path: paths.settingsSecurity, label: 'Password and 2FA' },
  { path: paths.settingsSessions, label: 'Sessions' },
  { path: paths.settingsPreferences, label: 'Upload preferences' },
  { path: paths.settingsNotifications, label: 'Notification preferences' },
  { path: paths.settingsDevice, label: 'This device' },
  { path: paths.settingsData, label: 'My data' },
];

/** /settings: the section menu beside (desktop) or above (phone) the chosen section. */
export function SettingsRoute() {
  return (
    <div className="settings">
      <h1>Settings</h1>
      <div className="settings-body">
        <nav className="settings-nav" aria-label="Settings">
          <ul>
            {settingsSections.map((section) => (
              <li key={section.path}>
                <NavLink to={section.path}>{section.label}</NavLink>
              </li>
            ))}
          </ul>
        </nav>
        <div className="settings-panel">
          <Outlet />
        </div>
      </div>
    </div>
  );
}

export function SettingsProfileRoute() {
  return <ProfileSection />;
}

export function SettingsSecurityRoute() {
  return (
    <>
      <PasswordSection />
      <TwoFactorSection />
    </>
  );
}

export function SettingsSessionsRoute() {
  return <SessionsSection />;
}

export function SettingsDataRoute() {
  return <MyDataSection />;
}
