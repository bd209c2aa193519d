/**
 * Developer tool: one busybox command in the booted guest with the JIT, with
 * and without region chaining (instruction clock, so both runs execute the
 * same guest instructions).  node --import tsx src/core/jit/test-support/chain-ab.ts ['command']
 * (CHAIN_ONLY=1: only the run with chaining)
 */
import { LinuxSession } from '../../test-support/linux-session.ts';

const cmd = process.argv[2] ?? 'seq 1 20000 | sort -r | md5sum';
for (const chaining of process.env.CHAIN_ONLY ? [true] : [true, false]) {
  const s = await LinuxSession.boot(64, { jit: true });
  s.machine.jitEngine!.chaining = chaining;
  s.run(cmd);
  const before = { ...s.machine.jitStats! };
  const i0 = s.machine.cpu.instructionsRetired;
  const t0 = performance.now();
  const r = s.run(cmd);
  const ms = performance.now() - t0;
  const st = s.machine.jitStats!;
  console.log(`chaining ${String(chaining).padEnd(5)} ${ms.toFixed(0).padStart(6)} ms  guest instructions ${s.machine.cpu.instructionsRetired - i0}  JS entries ${st.blockRuns - before.blockRuns}  jit instructions ${st.instructions - before.instructions}  compile ${(st.compileMs - before.compileMs).toFixed(0)} ms -> ${r.output.trim().slice(0, 40)}`);
}
