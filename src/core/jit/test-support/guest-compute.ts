/**
 * Developer tool: wall time of a few busybox compute commands in the booted
 * default guest, interpreter vs JIT (instruction clock, so both run the same
 * guest instructions).  node --import tsx src/core/jit/test-support/guest-compute.ts
 */
import { LinuxSession } from '../../test-support/linux-session.ts';

const commands = [
  'i=0; while [ $i -lt 20000 ]; do i=$((i+1)); done; echo $i',
  'dd if=/dev/zero bs=64k count=64 2>/dev/null | sha256sum',
  'seq 1 20000 | sort -r | md5sum',
];
for (const jit of [false, true]) {
  const s = await LinuxSession.boot(64, { jit });
  for (const cmd of commands) {
    const t0 = performance.now();
    const r = s.run(cmd);
    const ms = performance.now() - t0;
    console.log(`${jit ? 'jit   ' : 'interp'} ${ms.toFixed(0).padStart(6)} ms  ${cmd.slice(0, 50).padEnd(50)} -> ${r.output.trim().slice(0, 40)}`);
  }
  console.log(jit ? s.machine.jitStats : '');
}
