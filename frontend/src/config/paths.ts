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
  settings: '/settings',
  settingsProfile: '/settings/profile',
  settingsSecurity: '/settings/security',
  settingsSessions: '/settings/sessions',
  settingsData: '/settings/data',
  settingsPreferences: '/settings/preferences',
  settingsNotifications: '/settings/notifications',
  settingsDevice: '/settings/device',
  acceptInvitation: '/accept-invitation',
  admin: '/admin',
  adminUsers: '/admin/users',
  adminUser: '/admin/users/:userId',
  adminFacilities: '/admin/facilities',
  adminAudit: '/admin/audit',
  adminPacs: '/admin/pacs',
} as const;

export const reportPath = (reportId: string) => `/reports/${encodeURIComponent(reportId)}`;
export const uploadPath = (uploadId: string) => `/history/${encodeURIComponent(uploadId)}`;
export const adminUserPath = (userId: string) => `/admin/users/${encodeURIComponent(userId)}`;
export const adminAuditPath = (filters: { actor?: string } = {}) =>
  filters.actor ? `/admin/audit?actor=${encodeURIComponent(filters.actor)}` : '/admin/audit';
