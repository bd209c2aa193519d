/**
 * Re-runs single differential cases and prints everything about them.
 *
 *   [TABVISOR_JIT=1] node --import tsx src/core/cpu/diff/test-support/repro.ts SEED ID [ID...]
 */
import { Cpu } from '../../index.ts';
import { jitCpu } from '../../../jit/test-support/jit-cpu.ts';
import { generateCase, groupOf } from './gen.ts';
import { runNative, hostQuirks } from './native.ts';
import { EmuRunner } from './emu-runner.ts';
import { compareOutcomes, describeOutcome, formatMismatch, hex } from './compare.ts';
import type { Outcome } from './format.ts';

function dump(label: string, o: Outcome): string {
  const regs = ['eax', 'ecx', 'edx', 'ebx', 'esp', 'ebp', 'esi', 'edi'].map((n, i) => `${n}=${hex(o.regs[i]!)}`).join(' ');
  return `  ${label}: ${describeOutcome(o)} eip=${hex(o.eip)} eflags=${hex(o.eflags)}\n    ${regs}`;
}

const [seedArg, ...ids] = process.argv.slice(2);
if (seedArg === undefined || ids.length === 0) {
  console.error('usage: repro.ts SEED ID [ID...]');
  process.exit(2);
}
const seed = Number(seedArg);
const cases = ids.map((id) => generateCase(seed, Number(id), groupOf(Number(id))));
const nat = runNative(cases);
// TABVISOR_JIT=1: with the JIT forced on for all code.
const emu = new EmuRunner((h) => (process.env['TABVISOR_JIT'] === '1' ? jitCpu(h) : new Cpu(h)));
cases.forEach((c, i) => {
  const e = emu.run(c);
  const d = compareOutcomes(c, nat[i]!, e, hostQuirks());
  console.log(formatMismatch(c, seed, nat[i]!, e, d));
  console.log(d.length === 0 ? '  => AGREE' : `  => ${d.length} difference(s)`);
  console.log(dump('native  ', nat[i]!));
  console.log(dump('emulator', e));
  console.log(`  masks: flags ${hex(c.built.masks.flags)} (fault ${hex(c.built.masks.faultFlags)}) regs ${Array.from(c.built.masks.regs, (m) => hex(m)).join(' ')}`);
});
