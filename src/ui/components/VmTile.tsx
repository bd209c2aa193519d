/** One VM's tile: its console, its resource graphs and its snapshots, side by side with the other VMs' tiles; a dropped `.tabvm` file is imported. */
import { useId } from 'react';
import type { Coordinator } from '../../vmm/coordinator.ts';
import type { VmInfo } from '../../vmm/vm-registry.ts';
import { describeState } from '../format.ts';
import type { SnapshotLibrary } from '../snapshot-library.ts';
import { Console } from './Console.tsx';
import { ResourceGraphs } from './ResourceGraphs.tsx';
import { SnapshotPanel } from './SnapshotPanel.tsx';
import { StateBadge } from './StateBadge.tsx';
import { useSnapshotDrop } from './useSnapshotDrop.ts';

export interface VmTileProps {
  coordinator: Coordinator;
  vm: VmInfo;
  focusSeq: number | undefined;
  snapshots: SnapshotLibrary;
}

export function VmTile({ coordinator, vm, focusSeq, snapshots }: VmTileProps) {
  const titleId = useId();
  const hintId = useId();
  const { config } = vm;
  const { explanation } = describeState(vm.state, vm.reason, config.memoryBudgetMiB);
  const quiet = vm.state === 'running' || vm.state === 'starting';
  const drop = useSnapshotDrop(snapshots, vm.id);
  return (
    <section className={`tile tile-${vm.state}${drop.dragging ? ' tile-drop' : ''}`} aria-labelledby={titleId} {...drop.handlers}>
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
      <SnapshotPanel library={snapshots} coordinator={coordinator} vm={vm} />
    </section>
  );
}
