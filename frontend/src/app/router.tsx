import { createBrowserRouter, Navigate } from 'react-router-dom';

import { UploadQueueRunner } from '@/app/upload-queue-runner';
import { AppLayout } from '@/components/layout/app-layout';
import { RequireAuth } from '@/components/layout/require-auth';
import { NotFoundPage } from '@/components/layout/not-found-page';
import { RouteError } from '@/components/layout/route-error';
import { paths } from '@/config/paths';
import { LoginPage } from '@/features/auth/components/login-page';
import { RegisterPage } from '@/features/auth/components/register-page';
import { VerifyEmailPage } from '@/features/auth/components/verify-email-page';
import { HistoryPage } from '@/features/history/components/history-page';
import { UploadDetailPage } from '@/features/history/components/upload-page-detail';
import { NotificationsPage } from '@/features/notifications/components/notifications-page';
import { ReportDetailPage } from '@/features/reports/components/report-detail-page';
import { ReportsPage } from '@/features/reports/components/reports-page';
import { UploadPage } from '@/features/upload/components/upload-page';

export function createAppRouter() {
  return createBrowserRouter([
    {
      element: <AppLayout />,
      errorElement: <RouteError />,
      children: [
        { path: paths.home, element: <Navigate to={paths.upload} replace /> },
        { path: paths.login, element: <LoginPage /> },
        { path: paths.register, element: <RegisterPage /> },
        { path: paths.verifyEmail, element: <VerifyEmailPage /> },
        {
          element: <RequireAuth />,
          children: [
            {
              element: <UploadQueueRunner />,
              children: [
                { path: paths.upload, element: <UploadPage /> },
                { path: paths.history, element: <HistoryPage /> },
                { path: paths.historyUpload, element: <UploadDetailPage /> },
                { path: paths.notifications, element: <NotificationsPage /> },
                { path: paths.reports, element: <ReportsPage /> },
                { path: paths.report, element: <ReportDetailPage /> },
              ],
            },
          ],
        },
        { path: '*', element: <NotFoundPage /> },
      ],
    },
  ]);
}
