/**
 * Drives a differential run: generate a range of cases, run them natively
 * (in batches) and on the emulator, compare, and summarize per group.
 */
import { type GenCase, GROUPS, type Group, generateCases } from './gen.ts';
import { runNative, hostQuirks, NO_QUIRKS } from './native.ts';
import { type CpuFactory, EmuRunner } from './emu-runner.ts';
import { compareOutcomes, formatMismatch, type FieldDiff } from './compare.ts';
import type { Outcome } from './format.ts';

export interface GroupStats {
  cases: number;
  mismatches: number;
  /** Cases where the host CPU faulted (any vector). */
  nativeFaults: number;
  hostErrors: number;
}

export interface DiffMismatch {
  c: GenCase;
  nat: Outcome;
  emu: Outcome | null;
  diffs: FieldDiff[];
  hostError?: string;
}

export interface DiffSummary {
  seed: number;
  total: number;
  mismatches: number;
  hostErrors: number;
  perGroup: Map<string, GroupStats>;
  /** The first `keep` mismatches, in case order. */
  first: DiffMismatch[];
  ms: { generate: number; native: number; emulator: number };
}

export interface DiffOptions {
  seed: number;
  first?: number;
  count: number;
  factory: CpuFactory;
  groups?: readonly Group[];
  /** Cases per generate/native/emulate round (memory bound). */
  batch?: number;
  keep?: number;
  onBatch?: (done: number, s: DiffSummary) => void;
  /**
   * Where the expected outcomes come from: the host CPU (default), or another
   * emulator (`emulatorReference`), e.g. the interpreter as the JIT's
   * reference on a host that runs no 32-bit x86 code. Undefined: the host CPU.
   */
  reference?: (cases: readonly GenCase[]) => Outcome[];
}

/** Expected outcomes from a CPU made by `factory` instead of the host CPU. */
export function emulatorReference(factory: CpuFactory): (cases: readonly GenCase[]) => Outcome[] {
  let runner: EmuRunner | undefined;
  return (cases) => {
    runner ??= new EmuRunner(factory);
    return cases.map((c) => runner!.run(c));
  };
}

export function emptySummary(seed: number, groups: readonly Group[] = GROUPS): DiffSummary {
  const perGroup = new Map<string, GroupStats>();
  for (const g of groups) perGroup.set(g.name, { cases: 0, mismatches: 0, nativeFaults: 0, hostErrors: 0 });
  return { seed, total: 0, mismatches: 0, hostErrors: 0, perGroup, first: [], ms: { generate: 0, native: 0, emulator: 0 } };
}

export function runDiff(o: DiffOptions): DiffSummary {
  const groups = o.groups ?? GROUPS;
  const s = emptySummary(o.seed, groups);
  const keep = o.keep ?? 20;
  const batch = o.batch ?? 25_000;
  const emu = new EmuRunner(o.factory);
  const start = o.first ?? 0;
  const quirks = o.reference === undefined ? hostQuirks() : NO_QUIRKS;
  for (let at = start; at < start + o.count; at += batch) {
    const n = Math.min(batch, start + o.count - at);
    let t = performance.now();
    const cases = generateCases(o.seed, at, n, groups);
    s.ms.generate += performance.now() - t;
    t = performance.now();
    const nat = (o.reference ?? runNative)(cases);
    s.ms.native += performance.now() - t;
    t = performance.now();
    for (let i = 0; i < n; i++) {
      const c = cases[i]!;
      const st = s.perGroup.get(c.group)!;
      st.cases++;
      s.total++;
      if (!nat[i]!.done) st.nativeFaults++;
      let e: Outcome | null = null;
      let hostError: string | undefined;
      try {
        e = emu.run(c);
      } catch (err) {
        hostError = err instanceof Error ? (err.stack ?? err.message) : String(err);
        emu.setupCpu();
      }
      const diffs = e === null ? [] : compareOutcomes(c, nat[i]!, e, quirks);
      if (hostError !== undefined || diffs.length > 0) {
        st.mismatches++;
        s.mismatches++;
        if (hostError !== undefined) { st.hostErrors++; s.hostErrors++; }
        if (s.first.length < keep) s.first.push({ c, nat: nat[i]!, emu: e, diffs, ...(hostError !== undefined ? { hostError } : {}) });
      }
    }
    s.ms.emulator += performance.now() - t;
    o.onBatch?.(at - start + n, s);
  }
  return s;
}

export function formatDiffMismatch(m: DiffMismatch, seed: number): string {
  if (m.emu === null) {
    return `${formatMismatch(m.c, seed, m.nat, m.nat, [])}\n  HOST EXCEPTION in the emulator: ${m.hostError ?? '?'}`;
  }
  return formatMismatch(m.c, seed, m.nat, m.emu, m.diffs);
}

export function formatSummary(s: DiffSummary): string {
  const lines: string[] = [];
  lines.push(`differential run, seed ${s.seed}: ${s.total} cases, ${s.mismatches} mismatches (${s.hostErrors} host exceptions); ` +
    `generate ${(s.ms.generate / 1000).toFixed(1)} s, native ${(s.ms.native / 1000).toFixed(1)} s, emulator ${(s.ms.emulator / 1000).toFixed(1)} s`);
  lines.push(`  ${'group'.padEnd(22)} ${'cases'.padStart(8)} ${'host faults'.padStart(12)} ${'mismatches'.padStart(11)}`);
  for (const [name, g] of s.perGroup) {
    lines.push(`  ${name.padEnd(22)} ${String(g.cases).padStart(8)} ${String(g.nativeFaults).padStart(12)} ${String(g.mismatches).padStart(11)}`);
  }
  return lines.join('\n');
}
