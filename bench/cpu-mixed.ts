/** The mixed integer loop with paging on (src/core/cpu/bench-mixed.ts), one sample per process; argv[3] = "jit" enables the JIT, "noblocks" turns the interpreter's block tier off. */
import { runMixedBench } from '../src/core/cpu/bench-mixed.ts';

const r = runMixedBench(Number(process.argv[2] ?? 100_000_000), 1_000_000, process.argv[3] === 'jit', process.argv[3] !== 'noblocks');
console.log(JSON.stringify(r));
