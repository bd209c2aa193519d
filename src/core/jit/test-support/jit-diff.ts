/** Developer tool: the CPU differential cases with the JIT forced on. node --import tsx src/core/jit/test-support/jit-diff.ts [count] [seed] */
import { runDiff, formatDiffMismatch, formatSummary } from '../../cpu/diff/test-support/diff-run.ts';
import { jitCpu } from './jit-cpu.ts';

const count = Number(process.argv[2] ?? 20000);
const seed = Number(process.argv[3] ?? 0x7ab1);
const s = runDiff({ seed, count, factory: (h) => jitCpu(h), keep: 5 });
console.log(formatSummary(s));
for (const m of s.first) console.log(formatDiffMismatch(m, s.seed) + '\n');
