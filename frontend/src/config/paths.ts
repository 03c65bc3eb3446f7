export const paths = {
  home: '/',
  login: '/login',
  register: '/register',
  verifyEmail: '/verify-email',
  upload: '/upload',
  history: '/history',
  historyUpload: '/history/:uploadId',
  notifications: '/notifications',
  dashboard: '/dashboard',
  reports: '/reports',
  report: '/reports/:reportId',
  settingsPreferences: '/settings/preferences',
  settingsNotifications: '/settings/notifications',
  settingsDevice: '/settings/device',
} as const;

export const reportPath = (reportId: string) => `/reports/${encodeURIComponent(reportId)}`;
export const uploadPath = (uploadId: string) => `/history/${encodeURIComponent(uploadId)}`;
