/**
 * The VM list: state in words (with the reason for a pause, stop or failure),
 * lifecycle buttons, the last failed operation, and the CPU/memory settings
 * that may change while the VM runs.
 */
import { useId, useState, type FormEvent } from 'react';
import type { VmInfo } from '../../vmm/vm-registry.ts';
import { describeState, formatMiB } from '../format.ts';
import { findImage } from '../images.ts';
import { parseNumber } from '../new-vm-form.ts';
import type { StoreSnapshot, VmStore } from '../vm-store.ts';
import { PendingStatus, pendingTitle } from './PendingItem.tsx';
import { StateBadge } from './StateBadge.tsx';
import { VmControls } from './VmControls.tsx';

export function VmList({ store, snapshot }: { store: VmStore; snapshot: StoreSnapshot }) {
  const empty = snapshot.vms.length === 0 && snapshot.pending.length === 0;
  return (
    <>
      {empty && <p className="empty">No VMs. Press “New VM” to make one.</p>}
      <ul className="vm-list">
        {snapshot.vms.map((vm) => (
          <VmItem key={vm.id} store={store} vm={vm} busy={snapshot.busy.has(vm.id)} failure={snapshot.failures.get(vm.id)} />
        ))}
        {snapshot.pending.map((pending) => (
          <li key={`pending-${pending.key}`} className="vm-item" aria-label={pendingTitle(pending)}>
            <div className="vm-item-head">
              <span className="vm-name">{pendingTitle(pending)}</span>
              <span className={`badge ${pending.error ? 'badge-bad' : 'badge-busy'}`}>{pending.error ? 'Not created' : 'Preparing'}</span>
            </div>
            <PendingStatus pending={pending} store={store} />
          </li>
        ))}
      </ul>
    </>
  );
}

function VmItem({ store, vm, busy, failure }: { store: VmStore; vm: VmInfo; busy: boolean; failure: string | undefined }) {
  const nameId = useId();
  const { config } = vm;
  const { explanation } = describeState(vm.state, vm.reason, config.memoryBudgetMiB);
  const imageId = store.imageIdOf(vm.id);
  const imageLabel = (imageId && findImage(imageId)?.label) ?? (config.image.kind === 'linux' ? 'Linux' : 'Synthetic guest');
  return (
    <li className="vm-item" aria-labelledby={nameId}>
      <div className="vm-item-head">
        <span className="vm-name" id={nameId}>
          {config.name}
        </span>
        {config.name !== vm.id && <span className="vm-id">{vm.id}</span>}
        <StateBadge state={vm.state} />
      </div>
      {explanation && <p className="explanation">{explanation}</p>}
      {vm.detail && (vm.state === 'error' || vm.state === 'stopped' || vm.state === 'paused') && (
        <details className="detail">
          <summary>Technical details</summary>
          <pre>{vm.detail}</pre>
        </details>
      )}
      <p className="vm-meta">
        {imageLabel} · {formatMiB(config.ramMiB)} RAM · {config.jit ? 'JIT' : 'interpreted'}
      </p>
      <VmControls store={store} vm={vm} busy={busy} />
      {failure && (
        <p role="alert" className="failure">
          {failure}
        </p>
      )}
      {/* Keyed by the values, so the fields show changes made elsewhere (e.g. by a script). */}
      <ResourceSettings key={`${config.cpuWeight}/${config.cpuCapPercent}/${config.memoryBudgetMiB}`} store={store} vm={vm} />
    </li>
  );
}

/** CPU weight, CPU cap and memory budget; applied at once (the budget also lets a VM paused for memory resume). */
function ResourceSettings({ store, vm }: { store: VmStore; vm: VmInfo }) {
  const { config } = vm;
  const [weight, setWeight] = useState(String(config.cpuWeight));
  const [cap, setCap] = useState(String(config.cpuCapPercent));
  const [budget, setBudget] = useState(String(config.memoryBudgetMiB));
  const [error, setError] = useState<string | undefined>(undefined);
  const baseId = useId();

  const apply = (event: FormEvent): void => {
    event.preventDefault();
    const cpuWeight = parseNumber(weight);
    const cpuCapPercent = parseNumber(cap);
    const memoryBudgetMiB = parseNumber(budget);
    if (cpuWeight === undefined || cpuCapPercent === undefined || memoryBudgetMiB === undefined) {
      setError('Each setting must be a number.');
      return;
    }
    setError(undefined);
    store.configure(vm.id, { cpuWeight, cpuCapPercent, memoryBudgetMiB });
  };

  return (
    <details className="settings">
      <summary>
        Resources: weight {config.cpuWeight}, cap {config.cpuCapPercent} %, budget {formatMiB(config.memoryBudgetMiB)}
      </summary>
      <form className="settings-form" onSubmit={apply} aria-label={`Resources of ${config.name}`}>
        <label htmlFor={`${baseId}-w`}>CPU weight</label>
        <input id={`${baseId}-w`} inputMode="decimal" value={weight} onChange={(e) => setWeight(e.target.value)} />
        <label htmlFor={`${baseId}-c`}>CPU cap (%)</label>
        <input id={`${baseId}-c`} inputMode="decimal" value={cap} onChange={(e) => setCap(e.target.value)} />
        <label htmlFor={`${baseId}-b`}>Memory budget (MiB)</label>
        <input id={`${baseId}-b`} inputMode="decimal" value={budget} onChange={(e) => setBudget(e.target.value)} />
        <button type="submit" className="button button-small">
          Apply
        </button>
        {error && (
          <p role="alert" className="failure">
            {error}
          </p>
        )}
      </form>
    </details>
  );
}
