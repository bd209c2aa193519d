/**
 * Developer micro-benchmark: one instruction form repeated 100 times in a
 * jmp loop, paged flat ring 0. `node --import tsx loop-bench.ts "01 d8"`.
 */
import { FlatHost, flatCpu } from './flat-host.ts';

const prog = process.argv[2] ?? '90';
const h = new FlatHost();
const cpu = flatCpu(h, 0x20000, { paging: true });
cpu.setReg32(6, 0x200000);
cpu.setReg32(7, 0x200100);
let a = 0x20000;
for (let i = 0; i < 100; i++) a = h.loadHex(a, prog);
const rel = 0x20000 - (a + 5);
h.loadHex(a, 'e9 ' + [0, 8, 16, 24].map((s) => ((rel >>> s) & 0xff).toString(16)).join(' '));
for (let k = 0; k < 3; k++) {
  const u0 = process.cpuUsage();
  for (let i = 0; i < 30; i++) cpu.run(1_000_000);
  const u = process.cpuUsage(u0);
  console.log(`${prog}: ${(30e6 / ((u.user + u.system) / 1000) / 1000).toFixed(1)} MIPS (cpu time)`);
}
