/**
 * The embed page: one VM's console with a slim bar (name, state, Pause /
 * Resume / Reset, isolation note). Works without cross-origin isolation: the
 * coordinator then uses its message fallback and the bar says what that costs.
 */
import { useEffect, useState } from 'react';
import type { VmInfo } from '../../vmm/vm-registry.ts';
import { Console } from '../components/Console.tsx';
import { PendingStatus } from '../components/PendingItem.tsx';
import { StateBadge } from '../components/StateBadge.tsx';
import { VmControls } from '../components/VmControls.tsx';
import { describeState } from '../format.ts';
import { useStore } from '../hooks.ts';
import { isolationStatus } from '../host-summary.ts';
import type { Runtime } from '../runtime.ts';

export function EmbedApp({ runtime }: { runtime: Runtime }) {
  const { store, coordinator } = runtime;
  const snapshot = useStore(store);
  const [vmId, setVmId] = useState<string | undefined>(undefined);
  const [failure, setFailure] = useState<string | undefined>(undefined);
  useEffect(() => {
    runtime.defaultVm.then(
      (info: VmInfo) => setVmId(info.id),
      (error: unknown) => setFailure(error instanceof Error ? error.message : String(error)),
    );
  }, [runtime]);

  const vm = snapshot.vms.find((candidate) => candidate.id === vmId);
  const isolation = isolationStatus(runtime.isolated, runtime.channelMode);
  const note = describeState(vm?.state ?? 'created', vm?.reason, vm?.config.memoryBudgetMiB);
  return (
    <div className="embed">
      <div className="embed-bar">
        <span className="embed-brand">tabvisor</span>
        {vm && (
          <>
            <span className="vm-name">{vm.config.name}</span>
            <StateBadge state={vm.state} />
            {vm.state !== 'running' && note.explanation && <span className="embed-note">{note.explanation}</span>}
            <VmControls store={store} vm={vm} busy={snapshot.busy.has(vm.id)} actions={['start', 'pause', 'resume', 'reset']} />
          </>
        )}
        <span className={`embed-isolation${isolation.degraded.length > 0 ? ' degraded' : ''}`} title={[isolation.headline, ...isolation.degraded].join(' ')}>
          <span role="status">{isolation.degraded.length > 0 ? 'Not isolated' : 'Isolated'}</span>: {isolation.short}
        </span>
      </div>
      {vm ? (
        <Console coordinator={coordinator} vmId={vm.id} name={vm.config.name} focusSeq={snapshot.focus?.id === vm.id ? snapshot.focus.seq : undefined} />
      ) : (
        <div className="embed-waiting">
          {failure && snapshot.pending.length === 0 && (
            <p role="alert" className="failure">
              {failure}
            </p>
          )}
          {snapshot.pending.map((pending) => (
            <PendingStatus key={pending.key} pending={pending} store={store} />
          ))}
        </div>
      )}
      {vm && snapshot.failures.get(vm.id) && (
        <p role="alert" className="failure embed-failure">
          {snapshot.failures.get(vm.id)}
        </p>
      )}
    </div>
  );
}
