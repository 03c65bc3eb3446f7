import { createBrowserRouter, Navigate } from 'react-router-dom';

import { AcceptInvitationRoute } from '@/app/routes/accept-invitation';
import { AdminAuditRoute } from '@/app/routes/admin-audit';
import { AdminFacilitiesRoute } from '@/app/routes/admin-facilities';
import { AdminPacsRoute } from '@/app/routes/admin-pacs';
import { AdminUserRoute } from '@/app/routes/admin-user';
import { AdminUsersRoute } from '@/app/routes/admin-users';
import { HistoryRoute } from '@/app/routes/history';
import { HomeRoute } from '@/app/routes/home';
import { LoginRoute } from '@/app/routes/login';
import { NotificationsRoute } from '@/app/routes/notifications';
import { RegisterRoute } from '@/app/routes/register';
import { ReportRoute } from '@/app/routes/report';
import { ReportsRoute } from '@/app/routes/reports';
import { RootRoute } from '@/app/routes/root';
import {
  SettingsDataRoute,
  SettingsProfileRoute,
  SettingsRoute,
  SettingsSecurityRoute,
  SettingsSessionsRoute,
} from '@/app/routes/settings';
import { SettingsDeviceRoute } from '@/app/routes/settings-device';
import { SettingsNotificationsRoute } from '@/app/routes/settings-notifications';
import { SettingsPreferencesRoute } from '@/app/routes/settings-preferences';
import { UploadRoute } from '@/app/routes/upload';
import { UploadDetailRoute } from '@/app/routes/upload-detail';
import { VerifyEmailRoute } from '@/app/routes/verify-email';
import { UploadQueueRunner } from '@/app/upload-queue-runner';
import { NotFoundPage } from '@/components/layout/not-found-page';
import { RequireAuth } from '@/components/layout/require-auth';
import { RequirePermission } from '@/components/layout/require-permission';
import { RouteError } from '@/components/layout/route-error';
import { paths } from '@/config/paths';

export function createAppRouter() {
  return createBrowserRouter([
    {
      element: <RootRoute />,
      errorElement: <RouteError />,
      children: [
        { path: paths.login, element: <LoginRoute /> },
        { path: paths.register, element: <RegisterRoute /> },
        { path: paths.verifyEmail, element: <VerifyEmailRoute /> },
        { path: paths.acceptInvitation, element: <AcceptInvitationRoute /> },
        {
          element: <RequireAuth />,
          children: [
            {
              element: <UploadQueueRunner />,
              children: [
                { path: paths.home, element: <HomeRoute /> },
                { path: paths.upload, element: <UploadRoute /> },
                {
                  // Recharts is large: loaded with the dashboard, not with the upload screen.
                  path: paths.dashboard,
                  lazy: async () => ({ Component: (await import('@/app/routes/dashboard')).DashboardRoute }),
                },
                { path: paths.history, element: <HistoryRoute /> },
                { path: paths.historyUpload, element: <UploadDetailRoute /> },
                { path: paths.notifications, element: <NotificationsRoute /> },
                { path: paths.reports, element: <ReportsRoute /> },
                { path: paths.report, element: <ReportRoute /> },
                {
                  path: paths.settings,
                  element: <SettingsRoute />,
                  children: [
                    { index: true, element: <Navigate to={paths.settingsProfile} replace /> },
                    { path: paths.settingsProfile, element: <SettingsProfileRoute /> },
                    { path: paths.settingsSecurity, element: <SettingsSecurityRoute /> },
                    { path: paths.settingsSessions, element: <SettingsSessionsRoute /> },
                    { path: paths.settingsPreferences, element: <SettingsPreferencesRoute /> },
                    { path: paths.settingsNotifications, element: <SettingsNotificationsRoute /> },
                    { path: paths.settingsDevice, element: <SettingsDeviceRoute /> },
                    { path: paths.settingsData, element: <SettingsDataRoute /> },
                  ],
                },
                {
                  // Admins only: anyone else gets "not allowed" (the API refuses them too).
                  element: <RequirePermission permission="user:manage" />,
                  children: [
                    { path: paths.admin, element: <Navigate to={paths.adminUsers} replace /> },
                    { path: paths.adminUsers, element: <AdminUsersRoute /> },
                    { path: paths.adminUser, element: <AdminUserRoute /> },
                    { path: paths.adminFacilities, element: <AdminFacilitiesRoute /> },
                    { path: paths.adminAudit, element: <AdminAuditRoute /> },
                    { path: paths.adminPacs, element: <AdminPacsRoute /> },
                  ],
                },
              ],
            },
          ],
        },
        { path: '*', element: <NotFoundPage /> },
      ],
    },
  ]);
}
