/** One VM's tile: its console and its resource graphs, side by side with the other VMs' tiles. */
import { useId } from 'react';
import type { Coordinator } from '../../vmm/coordinator.ts';
import type { VmInfo } from '../../vmm/vm-registry.ts';
import { describeState } from '../format.ts';
import { Console } from './Console.tsx';
import { ResourceGraphs } from './ResourceGraphs.tsx';
import { StateBadge } from './StateBadge.tsx';

export interface VmTileProps {
  coordinator: Coordinator;
  vm: VmInfo;
  focusSeq: number | undefined;
}

export function VmTile({ coordinator, vm, focusSeq }: VmTileProps) {
  const titleId = useId();
  const hintId = useId();
  const { config } = vm;
  const { explanation } = describeState(vm.state, vm.reason, config.memoryBudgetMiB);
  const quiet = vm.state === 'running' || vm.state === 'starting';
  return (
    <section className={`tile tile-${vm.state}`} aria-labelledby={titleId}>
      <header className="tile-head">
        <h2 id={titleId}>{config.name}</h2>
        <StateBadge state={vm.state} />
        {!quiet && explanation && <span className="tile-note">{explanation}</span>}
        <span className="tile-hint" id={hintId}>
          F6 leaves the console
        </span>
      </header>
      <Console coordinator={coordinator} vmId={vm.id} name={config.name} focusSeq={focusSeq} hintId={hintId} />
      <ResourceGraphs coordinator={coordinator} vmId={vm.id} name={config.name} budgetMiB={config.memoryBudgetMiB} />
    </section>
  );
}
