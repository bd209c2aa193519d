/**
 * Developer runner: `node --import tsx src/core/cpu/test-support/run-bench.ts [instructions] [rounds]`
 * (or bundle it with esbuild first: per-module loading under tsx is slower than a bundle).
 * Reports wall-clock and CPU-time MIPS (CPU time is less disturbed by a loaded machine).
 */
import { runMixedBench } from '../bench-mixed.ts';

const n = Number(process.argv[2] ?? 100_000_000);
const rounds = Number(process.argv[3] ?? 3);
for (let i = 0; i < rounds; i++) {
  const u0 = process.cpuUsage();
  const r = runMixedBench(n);
  const u = process.cpuUsage(u0);
  const cpuMs = (u.user + u.system) / 1000;
  console.log(`${r.instructions} instructions: wall ${r.ms.toFixed(0)} ms = ${r.mips.toFixed(1)} MIPS; cpu ${cpuMs.toFixed(0)} ms = ${(r.instructions / cpuMs / 1000).toFixed(1)} MIPS`);
}
