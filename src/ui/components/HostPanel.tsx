/** Pool usage, total CPU of all VMs and the isolation status (with what is degraded without it). */
import { useEffect, useState } from 'react';
import type { Coordinator } from '../../vmm/coordinator.ts';
import type { ChannelMode } from '../../vmm/shared/protocol.ts';
import { formatMiB } from '../format.ts';
import { isolationStatus, summarize, type HostSummary } from '../host-summary.ts';

export interface HostPanelProps {
  coordinator: Coordinator;
  isolated: boolean;
  channelMode: ChannelMode;
  poolLimitMiB: number;
}

const REFRESH_MS = 500;

/** Cores with two decimals at most: 0.96, 1.5. */
function formatCores(cores: number): string {
  return `${+cores.toFixed(2)}`;
}

function measure(coordinator: Coordinator, poolLimitMiB: number): HostSummary {
  const loads = coordinator.list().map((vm) => {
    const sample = coordinator.latestStats(vm.id);
    return { state: vm.state, hostCpuPercent: sample?.hostCpuPercent, residentMiB: sample?.residentMiB };
  });
  return summarize(loads, coordinator.cpuBudgetCores, poolLimitMiB);
}

export function HostPanel({ coordinator, isolated, channelMode, poolLimitMiB }: HostPanelProps) {
  const [summary, setSummary] = useState(() => measure(coordinator, poolLimitMiB));
  useEffect(() => {
    const timer = setInterval(() => setSummary(measure(coordinator, poolLimitMiB)), REFRESH_MS);
    return () => clearInterval(timer);
  }, [coordinator, poolLimitMiB]);

  const status = isolationStatus(isolated, channelMode);
  const cores = summary.cpuBudgetPercent / 100;
  return (
    <section className="host-panel" aria-label="Host">
      <div className="host-card">
        <h2>CPU of all VMs</h2>
        <p className="host-figure">
          {formatCores(summary.cpuPercent / 100)} <span className="muted">of {formatCores(cores)} cores for guests</span>
        </p>
        <meter aria-label="CPU of all VMs" min={0} max={summary.cpuBudgetPercent} value={Math.min(summary.cpuPercent, summary.cpuBudgetPercent)} />
      </div>
      <div className="host-card">
        <h2>Memory pool</h2>
        <p className="host-figure">
          {formatMiB(summary.residentMiB)} <span className="muted">of {formatMiB(summary.poolLimitMiB)} resident</span>
        </p>
        <meter aria-label="Memory pool usage" min={0} max={summary.poolLimitMiB} high={summary.poolLimitMiB * 0.9} value={summary.residentMiB} />
      </div>
      <div className="host-card">
        <h2>VMs</h2>
        <p className="host-figure">
          {summary.running} running<span className="muted">, {summary.paused} paused, {summary.other} other</span>
        </p>
      </div>
      <div className={`host-card host-isolation${status.degraded.length > 0 ? ' degraded' : ''}`}>
        <h2>Isolation</h2>
        <p role="status">{status.headline}</p>
        {status.degraded.length > 0 && (
          <ul className="degraded-list">
            {status.degraded.map((line) => (
              <li key={line}>{line}</li>
            ))}
          </ul>
        )}
      </div>
    </section>
  );
}
