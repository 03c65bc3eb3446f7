export const paths = {
  home: '/',
  login: '/login',
  register: '/register',
  verifyEmail: '/verify-email',
  upload: '/upload',
  history: '/history',
} as const;
