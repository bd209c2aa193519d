/**
 * Two-thread ring test: reads everything from ring A with blocking
 * Atomics.wait (as a guest worker would) and writes it into ring B, in odd
 * chunk sizes so every wrap-around position is exercised.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { SpscRing } from '../spsc-ring.ts';

const data = workerData as { input: SharedArrayBuffer; output: SharedArrayBuffer; total: number };
const input = SpscRing.attach(data.input);
const output = SpscRing.attach(data.output);
const scratch = new Uint8Array(997);
let moved = 0;
let blockedReads = 0;
while (moved < data.total) {
  const seen = Atomics.load(input.dataWord.words, input.dataWord.index);
  const n = input.read(scratch.subarray(0, 1 + (moved % scratch.length)));
  if (n === 0) {
    blockedReads++;
    Atomics.wait(input.dataWord.words, input.dataWord.index, seen, 1000);
    continue;
  }
  let off = 0;
  while (off < n) {
    const spaceSeen = Atomics.load(output.spaceWord.words, output.spaceWord.index);
    const w = output.write(scratch.subarray(off, n));
    off += w;
    if (w === 0) Atomics.wait(output.spaceWord.words, output.spaceWord.index, spaceSeen, 1000);
  }
  moved += n;
}
parentPort!.postMessage({ moved, blockedReads });
