/** Developer tool: MIPS of the booted guest on a busybox workload (not a test). */
import { LinuxSession } from './linux-session.ts';

const s = await LinuxSession.boot(64);
const cmd = process.argv[2] ?? 'dd if=/dev/zero bs=1M count=2 2>/dev/null | sha256sum';
const i0 = s.machine.cpu.instructionsRetired;
const t0 = performance.now();
const r = s.run(cmd);
const ms = performance.now() - t0;
const n = s.machine.cpu.instructionsRetired - i0;
console.log(JSON.stringify(r), `${(n / 1e6).toFixed(1)} M instructions in ${ms.toFixed(0)} ms = ${(n / ms / 1000).toFixed(1)} MIPS`);
s.release();
