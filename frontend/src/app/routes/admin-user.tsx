import { useParams } from 'react-router-dom';

import { UserDetailPage } from '@/features/admin/components/user-detail-page';

export function AdminUserRoute() {
  const { userId = '' } = useParams();
  return <UserDetailPage key={userId} userId={userId} />;
}
