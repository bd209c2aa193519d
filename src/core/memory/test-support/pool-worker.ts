/**
 * Worker thread for frame-pool.test.ts: attaches to a shared pool and churns
 * through allocations and frees, stamping every frame it holds with its own
 * id and checking the stamp is intact (and the frame was zero) before freeing
 * it. Two owners of one frame would overwrite each other's stamps.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { FRAME_SIZE, FramePool, type SharedFramePoolHandle } from '../frame-pool.ts';

interface Job {
  handle: SharedFramePoolHandle;
  id: number;
  rounds: number;
  hold: number;
  start: Int32Array;
}

const job = workerData as Job;
const pool = FramePool.attachShared(job.handle);
const held: number[] = [];
let errors = 0;
let allocations = 0;
let refusals = 0;
let seed = job.id * 7919 + 1;
const random = (): number => {
  seed = (seed * 1103515245 + 12345) & 0x7fffffff;
  return seed / 0x80000000;
};

// Start together, so the two threads really race.
Atomics.add(job.start, 0, 1);
while (Atomics.load(job.start, 0) < 2) Atomics.wait(job.start, 0, 1, 1);

for (let round = 0; round < job.rounds; round++) {
  if (held.length < job.hold && (held.length === 0 || random() < 0.6)) {
    const frame = pool.allocate();
    if (frame < 0) {
      refusals++;
      continue;
    }
    allocations++;
    const words = new Int32Array(pool.buffer, frame * FRAME_SIZE, FRAME_SIZE / 4);
    if (words[0] !== 0 || words[1023] !== 0) errors++;
    words[0] = job.id;
    words[1023] = frame;
    held.push(frame);
  } else {
    const frame = held.splice(Math.floor(random() * held.length), 1)[0]!;
    const words = new Int32Array(pool.buffer, frame * FRAME_SIZE, FRAME_SIZE / 4);
    if (words[0] !== job.id || words[1023] !== frame) errors++;
    pool.free(frame);
  }
}
// Keep what is still held (the test checks the counts, then reclaims them).
for (const frame of held) {
  const words = new Int32Array(pool.buffer, frame * FRAME_SIZE, FRAME_SIZE / 4);
  if (words[0] !== job.id || words[1023] !== frame) errors++;
}
parentPort!.postMessage({ errors, allocations, refusals, held });
