import { createBrowserRouter, Navigate } from 'react-router-dom';

import { HistoryRoute } from '@/app/routes/history';
import { LoginRoute } from '@/app/routes/login';
import { NotificationsRoute } from '@/app/routes/notifications';
import { RegisterRoute } from '@/app/routes/register';
import { ReportRoute } from '@/app/routes/report';
import { ReportsRoute } from '@/app/routes/reports';
import { RootRoute } from '@/app/routes/root';
import { UploadRoute } from '@/app/routes/upload';
import { UploadDetailRoute } from '@/app/routes/upload-detail';
import { VerifyEmailRoute } from '@/app/routes/verify-email';
import { UploadQueueRunner } from '@/app/upload-queue-runner';
import { NotFoundPage } from '@/components/layout/not-found-page';
import { RequireAuth } from '@/components/layout/require-auth';
import { RouteError } from '@/components/layout/route-error';
import { paths } from '@/config/paths';

export function createAppRouter() {
  return createBrowserRouter([
    {
      element: <RootRoute />,
      errorElement: <RouteError />,
      children: [
        { path: paths.home, element: <Navigate to={paths.upload} replace /> },
        { path: paths.login, element: <LoginRoute /> },
        { path: paths.register, element: <RegisterRoute /> },
        { path: paths.verifyEmail, element: <VerifyEmailRoute /> },
        {
          element: <RequireAuth />,
          children: [
            {
              element: <UploadQueueRunner />,
              children: [
                { path: paths.upload, element: <UploadRoute /> },
                { path: paths.history, element: <HistoryRoute /> },
                { path: paths.historyUpload, element: <UploadDetailRoute /> },
                { path: paths.notifications, element: <NotificationsRoute /> },
                { path: paths.reports, element: <ReportsRoute /> },
                { path: paths.report, element: <ReportRoute /> },
              ],
            },
          ],
        },
        { path: '*', element: <NotFoundPage /> },
      ],
    },
  ]);
}
