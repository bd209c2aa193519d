import { expect } from 'vitest';
import { X87 } from '../../cpu/fpu/x87.ts';
import { fuzz } from '../../cpu/diff/test-support/fuzz-run.ts';
import { jitCpu } from './jit-cpu.ts';

/**
 * `streams` random instruction streams from `seed` (ring 0 and ring 3, with
 * an x87 unit) with the JIT forced on for all code: none may raise a host
 * exception. The 50,000 streams of the suite are split over two test files
 * (jit-fuzz-a/b.test.ts) so that the halves run on both cores.
 */
export function expectNoHostException(seed: number, streams: number): void {
  const { failures, count } = fuzz(seed, streams, (h) => jitCpu(h, (fh) => new X87(fh)));
  expect(count).toBe(streams);
  expect(failures.map((f) => f.error)).toEqual([]);
}
