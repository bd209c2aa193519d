import { expect, test } from 'vitest';
import { STAT_NAMES, type StatsSeries } from '../vmm/stats.ts';
import { GRAPHS, graphColumns, latestValues } from './graphs.ts';
import { isolationStatus, summarize } from './host-summary.ts';

function series(times: number[], fill: (name: string, i: number) => number): StatsSeries {
  const columns = Object.fromEntries(STAT_NAMES.map((name) => [name, Float64Array.from(times, (_, i) => fill(name, i))]));
  return { time: Float64Array.from(times), ...columns } as StatsSeries;
}

test('graph columns: x in seconds before the newest sample, one array per series', () => {
  const stats = series([1000, 1250, 1500], (name, i) => (name === 'hostCpuPercent' ? 10 * (i + 1) : name === 'jitMips' ? 7 : i));
  const columns = graphColumns(stats, 64);
  expect([...columns.cpu[0]!]).toEqual([-0.5, -0.25, 0]);
  expect([...columns.cpu[1]!]).toEqual([10, 20, 30]);
  expect([...columns.memory[2]!]).toEqual([64, 64, 64]);
  for (const spec of GRAPHS) expect(columns[spec.key].length).toBe(spec.series.length + 1);
  expect(latestValues(columns.io)).toEqual([2, 2]);
  expect(latestValues(columns.mips)).toEqual([2, 7]);
});

test('graph columns of an empty history are empty', () => {
  const columns = graphColumns(series([], () => 0), 64);
  expect(columns.cpu[0]!.length).toBe(0);
  expect(latestValues(columns.cpu)).toEqual([NaN]);
});

test('host summary counts only active VMs towards CPU and memory', () => {
  const summary = summarize(
    [
      { state: 'running', hostCpuPercent: 40, residentMiB: 10 },
      { state: 'paused', hostCpuPercent: 0, residentMiB: 5 },
      { state: 'stopped', hostCpuPercent: 90, residentMiB: 50 },
      { state: 'created', hostCpuPercent: undefined, residentMiB: undefined },
    ],
    1.5,
    1024,
  );
  expect(summary).toEqual({ cpuPercent: 40, cpuBudgetPercent: 150, residentMiB: 15, poolLimitMiB: 1024, running: 1, paused: 1, other: 2 });
});

test('isolation status says what is degraded without shared memory', () => {
  expect(isolationStatus(true, 'shared')).toEqual({ headline: 'Cross-origin isolated: VMs share memory with the page.', short: 'shared memory', degraded: [] });
  const fallback = isolationStatus(false, 'message');
  expect(fallback.headline).toMatch(/^Not cross-origin isolated/);
  expect(fallback.degraded).toContain('VMs run on private memory (no SharedArrayBuffer).');
  expect(fallback.degraded.join(' ')).toMatch(/Console latency is higher/);
});
