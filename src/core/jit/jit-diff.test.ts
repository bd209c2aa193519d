/**
 * The CPU differential cases with the JIT forced on for all code (threshold
 * 0): against the host CPU where it runs 32-bit code (an i386 process, or 32-bit
 * code in an x86-64 process: cpu/diff/test-support/native.ts); elsewhere
 * against the interpreter, which is the JIT's specification (the
 * interpreter's own comparison with the real CPU, cpu-diff.test.ts, is
 * skipped there).
 */
import { describe, expect, it } from 'vitest';
import { Cpu } from '../cpu/cpu.ts';
import { runDiff, emulatorReference, formatDiffMismatch, formatSummary } from '../cpu/diff/test-support/diff-run.ts';
import { nativeKind } from '../cpu/diff/test-support/native.ts';
import { jitCpu } from './test-support/jit-cpu.ts';

describe('JIT forced on for all code', () => {
  const onHost = nativeKind() !== null;
  it(`agrees with ${onHost ? 'the host CPU' : 'the interpreter'} on 200,000 differential cases`, () => {
    const reference = onHost ? undefined : emulatorReference((h) => new Cpu(h));
    const s = runDiff({ seed: 0x7ab1, count: 200_000, factory: (h) => jitCpu(h), keep: 10, reference });
    if (s.mismatches > 0) console.log(formatSummary(s), s.first.map((m) => formatDiffMismatch(m, s.seed)).join('\n\n'));
    expect(s.total).toBe(200_000);
    expect(s.mismatches).toBe(0);
  }, 900_000);
});
