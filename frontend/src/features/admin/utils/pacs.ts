import type { Destination } from '@/features/admin/types/admin';

/** A destination's health in words (never by colour alone) and the class that colours it. */
export function healthLabel(destination: Pick<Destination, 'configured' | 'up'>): {
  text: string;
  className: string;
} {
  if (!destination.configured) return { text: 'Not configured', className: '' };
  if (destination.up === true) return { text: 'Up', className: 'health-up' };
  if (destination.up === false) return { text: 'Down', className: 'health-down' };
  return { text: 'Not checked yet', className: '' };
}
