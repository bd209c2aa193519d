/**
 * Plain-language text for the UI: numbers with units, and what a VM's state
 * (with the coordinator's reason) means for the person looking at it.
 */
import type { VmState } from '../vmm/lifecycle.ts';
import { StateReason } from '../vmm/shared/protocol.ts';

/** 0 B, 512 B, 1.5 KiB, 2.3 MiB, ... */
export function formatBytes(bytes: number): string {
  if (!Number.isFinite(bytes) || bytes < 0) return '–';
  const units = ['B', 'KiB', 'MiB', 'GiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${Math.round(value)} B` : `${value < 10 ? value.toFixed(1) : Math.round(value)} ${units[unit]}`;
}

export function formatRate(bytesPerSecond: number): string {
  return Number.isFinite(bytesPerSecond) ? `${formatBytes(bytesPerSecond)}/s` : '–';
}

export function formatPercent(percent: number): string {
  if (!Number.isFinite(percent)) return '–';
  return `${percent < 10 && percent > 0 ? percent.toFixed(1) : Math.round(percent)} %`;
}

export function formatMiB(mib: number): string {
  if (!Number.isFinite(mib)) return '–';
  return `${mib < 10 ? mib.toFixed(1) : Math.round(mib)} MiB`;
}

export function formatMips(mips: number): string {
  if (!Number.isFinite(mips)) return '–';
  return `${mips < 10 ? mips.toFixed(2) : Math.round(mips)} MIPS`;
}

/** "45 %" of a download, or the bytes so far when the size is unknown. */
export function formatProgress(loaded: number, total: number | undefined): string {
  if (total === undefined || total <= 0) return formatBytes(loaded);
  return `${Math.min(100, Math.floor((loaded / total) * 100))} % of ${formatBytes(total)}`;
}

export interface StateDescription {
  /** One or two words for a badge. */
  readonly label: string;
  /** A sentence for the VM list, or undefined when the label says it all. */
  readonly explanation: string | undefined;
  readonly tone: 'ok' | 'busy' | 'idle' | 'warn' | 'bad';
}

const LABELS: Record<VmState, { label: string; tone: StateDescription['tone'] }> = {
  created: { label: 'Created', tone: 'idle' },
  starting: { label: 'Starting', tone: 'busy' },
  running: { label: 'Running', tone: 'ok' },
  paused: { label: 'Paused', tone: 'warn' },
  stopped: { label: 'Stopped', tone: 'idle' },
  error: { label: 'Failed', tone: 'bad' },
  deleted: { label: 'Deleted', tone: 'idle' },
};

export function describeState(state: VmState, reason?: string, budgetMiB?: number): StateDescription {
  const { label, tone } = LABELS[state];
  return { label, tone, explanation: explain(state, reason, budgetMiB) };
}

function explain(state: VmState, reason: string | undefined, budgetMiB: number | undefined): string | undefined {
  switch (state) {
    case 'created':
      return 'Not started yet.';
    case 'starting':
      return 'Building the machine and loading its image…';
    case 'paused':
      if (reason === StateReason.OutOfMemoryBudget) {
        const budget = budgetMiB !== undefined ? ` (${formatMiB(budgetMiB)})` : '';
        return `Paused because it reached its memory budget${budget}. Raise the budget, then press Resume.`;
      }
      return reason ? `Paused: ${sentence(reason)}` : 'Paused by you. Press Resume to continue.';
    case 'stopped':
      return reason ? `Stopped: ${sentence(reason)}` : 'Stopped. Press Start to boot it again.';
    case 'error':
      if (reason === StateReason.WorkerCrashed) return "Failed: the VM's worker crashed. Other VMs are not affected; press Start to try again.";
      return `Failed: ${sentence(reason ?? 'unknown error')}`;
    default:
      return undefined;
  }
}

/** Ends a reason with a full stop unless it already has one. */
function sentence(text: string): string {
  const trimmed = text.trim();
  return /[.!?)]$/.test(trimmed) ? trimmed : `${trimmed}.`;
}
