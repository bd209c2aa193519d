/** Runs seeded random instruction streams through a FuzzMachine (fuzz.test.ts, and with the JIT forced on in jit.test.ts). */
import { Cpu, disassemble } from '../../index.ts';
import { X87 } from '../../fpu/x87.ts';
import { Rng } from './prng.ts';
import { FuzzMachine, type FuzzFailure } from './fuzz-machine.ts';
import type { CpuFactory } from './emu-runner.ts';
import { caseSeed } from './gen.ts';

export function fuzz(seed: number, streams: number, factory: CpuFactory = (h) => new Cpu(h, (fh) => new X87(fh))): { failures: FuzzFailure[]; count: number; m: FuzzMachine } {
  const m = new FuzzMachine(factory);
  m.lengthAt = (bytes, off) => {
    try {
      return disassemble(bytes, off, true).length;
    } catch {
      return 1;
    }
  };
  const failures: FuzzFailure[] = [];
  let count = 0;
  for (let i = 0; i < streams; i++) {
    const rng = new Rng(caseSeed(seed, i));
    const ring: 0 | 3 = rng.bool(0.5) ? 0 : 3;
    const bytes = m.streamBytes(rng);
    const regs = FuzzMachine.randomRegs(rng);
    // Random flags (IOPL, NT, AC, ID...) with TF only now and then: single-step ends the stream.
    const eflags = 0x2 | (rng.u32() & 0x00254ed5) | (rng.bool(0.03) ? 0x100 : 0);
    const err = m.runStream(rng, ring, bytes, regs, eflags);
    count++;
    if (err !== null) failures.push({ stream: i, ring, bytes, regs, eflags, error: err });
  }
  return { failures, count, m };
}
