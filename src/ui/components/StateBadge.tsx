/** A VM's state as a coloured badge. */
import type { VmState } from '../../vmm/lifecycle.ts';
import { describeState } from '../format.ts';

export function StateBadge({ state }: { state: VmState }) {
  const { label, tone } = describeState(state);
  return <span className={`badge badge-${tone}`}>{label}</span>;
}
