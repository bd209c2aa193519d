/**
 * The host panel's figures: CPU of all VMs against the scheduler's budget,
 * resident memory of all VMs against the pool, and what is degraded when
 * the page is not cross-origin isolated.
 */
import { isActive, type VmState } from '../vmm/lifecycle.ts';
import type { ChannelMode } from '../vmm/shared/protocol.ts';

export interface VmLoad {
  readonly state: VmState;
  /** Newest sample, if the VM has one. */
  readonly hostCpuPercent: number | undefined;
  readonly residentMiB: number | undefined;
}

export interface HostSummary {
  /** Sum over active VMs, in % of one core. */
  readonly cpuPercent: number;
  /** The scheduler's budget in % of one core. */
  readonly cpuBudgetPercent: number;
  readonly residentMiB: number;
  readonly poolLimitMiB: number;
  readonly running: number;
  readonly paused: number;
  readonly other: number;
}

export function summarize(loads: readonly VmLoad[], cpuBudgetCores: number, poolLimitMiB: number): HostSummary {
  let cpuPercent = 0;
  let residentMiB = 0;
  let running = 0;
  let paused = 0;
  for (const load of loads) {
    if (load.state === 'running') running++;
    else if (load.state === 'paused') paused++;
    if (!isActive(load.state)) continue;
    cpuPercent += load.hostCpuPercent ?? 0;
    residentMiB += load.residentMiB ?? 0;
  }
  return {
    cpuPercent,
    cpuBudgetPercent: cpuBudgetCores * 100,
    residentMiB,
    poolLimitMiB,
    running,
    paused,
    other: loads.length - running - paused,
  };
}

export interface IsolationStatus {
  readonly headline: string;
  /** A few words for tight spaces (the embed page's bar). */
  readonly short: string;
  /** What works differently, one sentence each (empty when isolated). */
  readonly degraded: readonly string[];
}

export function isolationStatus(isolated: boolean, channelMode: ChannelMode): IsolationStatus {
  if (isolated && channelMode === 'shared') {
    return {
      headline: 'Cross-origin isolated: VMs share memory with the page.',
      short: 'shared memory',
      degraded: [],
    };
  }
  return {
    headline: isolated
      ? 'Cross-origin isolated, but shared memory is turned off: VMs run in fallback mode.'
      : 'Not cross-origin isolated: VMs run in fallback mode.',
    short: 'private memory, slower console',
    degraded: [
      'VMs run on private memory (no SharedArrayBuffer).',
      'Console latency is higher: input and output travel by message every scheduling period (about 50 ms).',
      'CPU shares and graphs are updated by message instead of live counters.',
    ],
  };
}
