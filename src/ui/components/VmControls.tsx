/** The lifecycle buttons of one VM, each enabled only when its operation is legal now. */
import type { VmInfo } from '../../vmm/vm-registry.ts';
import { ACTION_LABELS, isActionEnabled, VM_ACTIONS, type VmAction } from '../vm-actions.ts';
import type { VmStore } from '../vm-store.ts';

export interface VmControlsProps {
  store: VmStore;
  vm: VmInfo;
  busy: boolean;
  /** Which buttons to show (default: all). */
  actions?: readonly VmAction[];
}

export function VmControls({ store, vm, busy, actions = VM_ACTIONS }: VmControlsProps) {
  return (
    <div className="vm-controls" role="group" aria-label={`${vm.config.name} controls`}>
      {actions.map((action) => (
        <button
          key={action}
          type="button"
          className={`button button-small${action === 'delete' ? ' button-danger' : ''}`}
          disabled={busy || !isActionEnabled(action, vm.state)}
          onClick={() => {
            store.run(vm.id, action).catch(() => undefined);
          }}
        >
          {ACTION_LABELS[action]}
        </button>
      ))}
    </div>
  );
}
