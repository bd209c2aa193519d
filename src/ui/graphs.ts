/**
 * What the resource graphs plot, as plain data: one entry per chart with its
 * series, and a function that turns the coordinator's stats history into
 * uPlot's column arrays (x = seconds before the newest sample).
 */
import type { StatsSeries } from '../vmm/stats.ts';
import { formatMiB, formatMips, formatPercent, formatRate } from './format.ts';

export interface SeriesSpec {
  readonly label: string;
  readonly color: string;
  readonly dash?: readonly number[];
}

export interface GraphSpec {
  readonly key: 'cpu' | 'mips' | 'memory' | 'io';
  readonly title: string;
  readonly series: readonly SeriesSpec[];
  readonly format: (value: number) => string;
  /** Smallest top of the y scale, so an idle VM's graph is not all noise. */
  readonly minTop: number;
}

export const GRAPHS: readonly GraphSpec[] = [
  { key: 'cpu', title: 'Host CPU', series: [{ label: 'CPU', color: '#4fc3f7' }], format: formatPercent, minTop: 100 },
  {
    key: 'mips',
    title: 'Guest speed',
    series: [
      { label: 'all', color: '#ffb74d' },
      { label: 'compiled', color: '#fff176', dash: [4, 4] },
    ],
    format: formatMips,
    minTop: 1,
  },
  {
    key: 'memory',
    title: 'Memory',
    series: [
      { label: 'used', color: '#81c784' },
      { label: 'budget', color: '#e57373', dash: [4, 4] },
    ],
    format: formatMiB,
    minTop: 1,
  },
  {
    key: 'io',
    title: 'Console I/O',
    series: [
      { label: 'in', color: '#ce93d8' },
      { label: 'out', color: '#4dd0e1' },
    ],
    format: formatRate,
    minTop: 64,
  },
];

/** Seconds of history on the x axis (the coordinator keeps one minute at 4 Hz). */
export const WINDOW_SECONDS = 60;

export type GraphColumns = Record<GraphSpec['key'], Float64Array[]>;

/** x first, then one array per series of each graph; the budget is a flat line at its current value. */
export function graphColumns(stats: StatsSeries, budgetMiB: number): GraphColumns {
  const n = stats.time.length;
  const x = new Float64Array(n);
  const newest = n > 0 ? stats.time[n - 1]! : 0;
  for (let i = 0; i < n; i++) x[i] = (stats.time[i]! - newest) / 1000;
  return {
    cpu: [x, stats.hostCpuPercent],
    mips: [x, stats.guestMips, stats.jitMips],
    memory: [x, stats.residentMiB, new Float64Array(n).fill(budgetMiB)],
    io: [x, stats.consoleInBytesPerSec, stats.consoleOutBytesPerSec],
  };
}

/** The newest value of each series of a graph (NaN when there is none). */
export function latestValues(columns: readonly Float64Array[]): number[] {
  return columns.slice(1).map((column) => (column.length > 0 ? column[column.length - 1]! : NaN));
}
