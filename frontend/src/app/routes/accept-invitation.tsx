import { AcceptInvitationPage } from '@/features/auth/components/accept-invitation-page';

export function AcceptInvitationRoute() {
  return <AcceptInvitationPage />;
}
