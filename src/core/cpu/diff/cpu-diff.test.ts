/**
 * Differential test: our CPU against the host CPU, instruction group by
 * instruction group (see test-support/gen.ts), with the undefined-behaviour
 * masks of test-support/undefined-masks.ts.
 *
 * CI: a fixed-seed sample of 200,000 cases, zero mismatches expected.
 * Soak: TABVISOR_SOAK=N runs N million cases (seed TABVISOR_SOAK_SEED, or a
 * random one that is printed), e.g.
 *   TABVISOR_SOAK=5 npx vitest run src/core/cpu/diff/cpu-diff.test.ts
 * Reproduce one case: node --import tsx src/core/cpu/diff/test-support/repro.ts SEED ID
 *
 * Needs an x86 Linux host with gcc: an i386 process where the kernel runs
 * i386 binaries (`gcc -m32`, gcc-multilib), else an x86-64 process running
 * the snippets in compatibility mode (test-support/native.ts).
 */
import { describe, expect, it } from 'vitest';
import { Cpu } from '../index.ts';
import { runDiff, formatDiffMismatch, formatSummary, type DiffSummary } from './test-support/diff-run.ts';
import { nativeKind, NATIVE_KIND_LABEL } from './test-support/native.ts';

const CI_SEED = 0x7ab1;
const CI_CASES = 200_000;

function report(s: DiffSummary): void {
  console.log(formatSummary(s));
  if (s.first.length > 0) {
    console.log(`first ${s.first.length} of ${s.mismatches} mismatches:\n\n${s.first.map((m) => formatDiffMismatch(m, s.seed)).join('\n\n')}`);
  }
}

// Skipped, with the reason printed, where the host runs no 32-bit x86 code (test-support/native.ts).
const kind = nativeKind();
describe.skipIf(kind === null)(`CPU vs ${kind === null ? 'the host CPU' : NATIVE_KIND_LABEL[kind]} (differential)`, () => {
  const soak = Number(process.env['TABVISOR_SOAK'] ?? '0');

  if (soak === 0) it(`${CI_CASES} fixed-seed cases across every instruction group`, () => {
    const s = runDiff({ seed: CI_SEED, count: CI_CASES, factory: (h) => new Cpu(h), keep: 20 });
    report(s);
    for (const [name, g] of s.perGroup) expect(g.cases, `cases in group ${name}`).toBeGreaterThan(500);
    expect(s.total).toBe(CI_CASES);
    expect(s.mismatches).toBe(0);
  }, 900_000);

  if (soak > 0) it(`soak: ${soak} million cases`, () => {
    const seed = Number(process.env['TABVISOR_SOAK_SEED'] ?? String((Date.now() ^ (process.pid << 16)) >>> 0));
    console.log(`soak seed ${seed}`);
    const s = runDiff({
      seed, count: Math.round(soak * 1_000_000), factory: (h) => new Cpu(h), keep: 20, batch: 50_000,
      onBatch: (done, cur) => { if (done % 500_000 === 0) console.log(`  ${done} cases, ${cur.mismatches} mismatches`); },
    });
    report(s);
    expect(s.mismatches).toBe(0);
  }, 24 * 3600_000);
});
