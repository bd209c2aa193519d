/** The interpreter's mixed integer loop with paging on (src/core/cpu/bench-mixed.ts), one sample per process. */
import { runMixedBench } from '../src/core/cpu/bench-mixed.ts';

const r = runMixedBench(Number(process.argv[2] ?? 100_000_000));
console.log(JSON.stringify(r));
