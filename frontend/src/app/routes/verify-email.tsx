import { VerifyEmailPage } from '@/features/auth/components/verify-email-page';

export function VerifyEmailRoute() {
  return <VerifyEmailPage />;
}
