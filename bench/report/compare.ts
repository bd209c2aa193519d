/**
 * Turns the guest runs of every engine measured in one invocation into the
 * report: per workload and engine the median, min and max host time (each
 * sample checked against the native output), and the ratios between
 * engines' medians — our emulator against native, v86 and QEMU.
 */
import { summarize, type Summary } from '../stats.ts';
import type { Workload } from '../workloads/definitions.ts';
import type { GuestRun } from '../workloads/results.ts';
import { verifyOutput } from '../workloads/verify.ts';
import { formatMs, formatRatio, formatTable } from './table.ts';

export type EngineKind = 'native' | 'ours' | 'v86' | 'qemu';

export interface EngineResult {
  /** e.g. 'ours-node-interpreter', 'v86', 'qemu', 'native'. */
  readonly id: string;
  readonly kind: EngineKind;
  readonly label: string;
  /** Not measured: why (e.g. the JIT option does not exist yet, or the engine failed). */
  readonly unavailable?: string;
  /** What its boot time covers. */
  readonly bootNote?: string;
  readonly runs: readonly GuestRun[];
}

export interface Cell {
  readonly summary: Summary;
  /** Every sample passed verifyOutput. */
  readonly verified: boolean;
  readonly problems: readonly string[];
}

export interface Comparison {
  /** engine id -> workload id (or 'boot') -> cell */
  readonly cells: ReadonlyMap<string, ReadonlyMap<string, Cell>>;
  /** Native outputs the others were checked against (first native run). */
  readonly reference: Readonly<Record<string, string>>;
  readonly problems: readonly string[];
}

export function compare(engines: readonly EngineResult[], workloads: readonly Workload[]): Comparison {
  const native = engines.find((e) => e.kind === 'native' && !e.unavailable && e.runs.length > 0);
  const reference: Record<string, string> = {};
  for (const w of workloads) {
    const s = native?.runs[0]?.samples[w.id];
    if (s) reference[w.id] = s.output;
  }
  const cells = new Map<string, Map<string, Cell>>();
  const problems: string[] = [];
  for (const e of engines) {
    if (e.unavailable || e.runs.length === 0) continue;
    const byWorkload = new Map<string, Cell>();
    const boots = e.runs.flatMap((r) => (r.bootMs === undefined ? [] : [r.bootMs]));
    if (boots.length) byWorkload.set('boot', { summary: summarize(boots), verified: true, problems: [] });
    for (const w of workloads) {
      const samples = e.runs.flatMap((r) => (r.samples[w.id] ? [r.samples[w.id]!] : []));
      if (!samples.length) continue;
      const cellProblems: string[] = [];
      for (const s of samples) {
        const v = verifyOutput(w, s, reference[w.id]);
        if (!v.ok) cellProblems.push(`${e.label}: ${v.why}`);
      }
      problems.push(...new Set(cellProblems));
      byWorkload.set(w.id, { summary: summarize(samples.map((s) => s.ms)), verified: cellProblems.length === 0, problems: [...new Set(cellProblems)] });
    }
    cells.set(e.id, byWorkload);
  }
  return { cells, reference, problems };
}

/** Ratio of two engines' medians for one row, when both were measured. */
export function medianRatio(c: Comparison, row: string, numerator: string, denominator: string): number | undefined {
  const a = c.cells.get(numerator)?.get(row);
  const b = c.cells.get(denominator)?.get(row);
  return a && b ? a.summary.median / b.summary.median : undefined;
}

const rowLabel = (workloads: readonly Workload[], id: string) => (id === 'boot' ? 'boot to prompt' : workloads.find((w) => w.id === id)?.label ?? id);

/** Per workload and engine: median, min, max, runs, verified. Unavailable engines are listed once, with the reason. */
export function detailTable(c: Comparison, engines: readonly EngineResult[], workloads: readonly Workload[]): string {
  const rows: string[][] = [];
  for (const id of ['boot', ...workloads.map((w) => w.id)]) {
    let first = true;
    for (const e of engines) {
      const cell = c.cells.get(e.id)?.get(id);
      if (!cell) continue;
      const s = cell.summary;
      rows.push([first ? rowLabel(workloads, id) : '', e.label, formatMs(s.median), formatMs(s.min), formatMs(s.max), String(s.runs), id === 'boot' ? '' : cell.verified ? 'ok' : 'WRONG']);
      first = false;
    }
  }
  const table = formatTable(
    [{ title: 'workload' }, { title: 'engine' }, { title: 'median', align: 'right' }, { title: 'min', align: 'right' }, { title: 'max', align: 'right' }, { title: 'runs', align: 'right' }, { title: 'output' }],
    rows,
  );
  const missing = engines.filter((e) => e.unavailable).map((e) => `${e.label}: ${e.unavailable}`);
  return missing.length ? `${table}\n${missing.join('\n')}` : table;
}

/**
 * One ratio table per measured variant of ours: ours/native (slowdown),
 * ours/v86 and ours/QEMU (>1: ours is slower), and the peers' own slowdowns.
 */
export function ratioTables(c: Comparison, engines: readonly EngineResult[], workloads: readonly Workload[]): string {
  const measured = (kind: EngineKind) => engines.filter((e) => e.kind === kind && c.cells.has(e.id));
  const native = measured('native')[0];
  const v86 = measured('v86')[0];
  const qemu = measured('qemu')[0];
  const out: string[] = [];
  for (const ours of measured('ours')) {
    const rows = ['boot', ...workloads.map((w) => w.id)].map((id) => [
      rowLabel(workloads, id),
      formatRatio(native && medianRatio(c, id, ours.id, native.id)),
      formatRatio(v86 && medianRatio(c, id, ours.id, v86.id)),
      formatRatio(qemu && medianRatio(c, id, ours.id, qemu.id)),
      formatRatio(native && v86 && medianRatio(c, id, v86.id, native.id)),
      formatRatio(native && qemu && medianRatio(c, id, qemu.id, native.id)),
    ]);
    out.push(`ratios of medians, ours = ${ours.label}`);
    out.push(formatTable(
      [{ title: 'workload' }, { title: 'ours/native', align: 'right' }, { title: 'ours/v86', align: 'right' }, { title: 'ours/QEMU', align: 'right' }, { title: 'v86/native', align: 'right' }, { title: 'QEMU/native', align: 'right' }],
      rows.filter((r) => r.slice(1).some(Boolean)),
    ));
  }
  return out.join('\n');
}
