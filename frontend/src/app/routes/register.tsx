import { RegisterPage } from '@/features/auth/components/register-page';

export function RegisterRoute() {
  return <RegisterPage />;
}
