/**
 * The decoded-block tier (block-cache.ts) with every block decoded on its
 * first visit: the CPU differential cases against the host CPU where it runs
 * 32-bit code (else against the interpreter without blocks, its
 * specification), and random instruction streams that must never raise a
 * host exception. (The default CPU starts the tier after 25 M instructions
 * and decodes a block on its fourth visit, so the other CPU suites, which
 * run each case once, do not reach it.)
 */
import { describe, expect, it } from 'vitest';
import { Cpu } from './cpu.ts';
import { X87 } from './fpu/x87.ts';
import { runDiff, emulatorReference, formatDiffMismatch, formatSummary } from './diff/test-support/diff-run.ts';
import { nativeKind } from './diff/test-support/native.ts';
import { fuzz } from './diff/test-support/fuzz-run.ts';
import type { CpuHost } from './host.ts';
import type { FpuHost, FpuUnit } from './fpu/fpu-host.ts';

function eagerBlocks(h: CpuHost, fpu?: (fh: FpuHost) => FpuUnit): Cpu {
  const cpu = new Cpu(h, fpu);
  cpu.setBlockTier(true, { hotVisits: 1, warmup: 0 });
  return cpu;
}

describe('decoded blocks for all code', () => {
  const onHost = nativeKind() !== null;
  it(`agree with ${onHost ? 'the host CPU' : 'the interpreter without blocks'} on 200,000 differential cases`, () => {
    const reference = onHost ? undefined : emulatorReference((h) => {
      const cpu = new Cpu(h);
      cpu.setBlockTier(false);
      return cpu;
    });
    const s = runDiff({ seed: 0xb10c, count: 200_000, factory: (h) => eagerBlocks(h), keep: 10, reference });
    if (s.mismatches > 0) console.log(formatSummary(s), s.first.map((m) => formatDiffMismatch(m, s.seed)).join('\n\n'));
    expect(s.total).toBe(200_000);
    expect(s.mismatches).toBe(0);
  }, 900_000);

  it('never raise a host exception on 20,000 random instruction streams (seed 0xb10f)', () => {
    const { failures, count } = fuzz(0xb10f, 20_000, (h) => eagerBlocks(h, (fh) => new X87(fh)));
    expect(count).toBe(20_000);
    expect(failures.map((f) => f.error)).toEqual([]);
  }, 600_000);
});
