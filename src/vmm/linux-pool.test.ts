/**
 * Real Linux guests sharing the coordinator's frame pool (one shared
 * WebAssembly.Memory for all VMs): the coordinator reads every VM's p2m map
 * and resident count, they add up to the pool's used frames, a pool that runs
 * out pauses only the VM that asked ("out of memory budget") while the others
 * keep answering, and deleting a VM gives its frames back.
 */
import { afterAll, beforeAll, expect, test } from 'vitest';
import type { Coordinator } from './coordinator.ts';
import { framesToMiB } from './memory-policy.ts';
import { StateReason } from './shared/protocol.ts';
import { sleep, stateReached, testCoordinator } from './test-support/harness.ts';
import { linuxVm, startImageServer, type ImageServer } from './test-support/image-server.ts';
import type { VmConfigInput } from './vm-registry.ts';

const PROMPT = /root@tabvisor:~# /;
let images: ImageServer;
let c: Coordinator;

beforeAll(async () => {
  images = await startImageServer();
  c = testCoordinator({ cpuBudgetCores: 1.6, poolLimitMiB: 256 });
});

afterAll(async () => {
  await c?.dispose();
  await images?.close();
});

function linux(name: string): VmConfigInput {
  return linuxVm(images, name);
}

async function answers(id: string): Promise<void> {
  const marker = `M${Math.random().toString(36).slice(2, 8)}`;
  await c.send(id, `echo ${marker} $((6*7))\n`);
  await c.waitFor(id, new RegExp(`${marker} 42`), 30_000);
}

test('two Linux VMs on one shared pool: maps, resident counts, pool exhaustion pauses only the VM that asked, delete gives frames back', { timeout: 420_000 }, async () => {
  const a = c.createVm(linux('alpha'));
  const b = c.createVm(linux('beta'));
  await Promise.all([c.start(a.id), c.start(b.id)]);
  await Promise.all([c.waitFor(a.id, PROMPT, 180_000), c.waitFor(b.id, PROMPT, 180_000)]);
  expect(c.poolStats().shared).toBe(true);

  // Stable picture: both paused. Each VM also holds one scratch frame (see GuestMemory).
  await Promise.all([c.pause(a.id), c.pause(b.id)]);
  const mapA = c.memoryMap(a.id)!;
  const mapB = c.memoryMap(b.id)!;
  expect(mapA.length).toBe(64 * 256);
  const framesA = new Set(Array.from(mapA).filter((f) => f > 0));
  const framesB = new Set(Array.from(mapB).filter((f) => f > 0));
  const residentA = c.residentFrames(a.id);
  const residentB = c.residentFrames(b.id);
  expect(framesA.size).toBe(residentA);
  expect(framesB.size).toBe(residentB);
  expect(residentA).toBeGreaterThan(1000);
  for (const f of framesA) expect(framesB.has(f)).toBe(false);
  expect(c.poolStats().usedFrames).toBe(residentA + residentB + 2);
  await Promise.all([c.resume(a.id), c.resume(b.id)]);
  await answers(a.id);

  // A third VM on a pool with only a few MiB left runs out while booting: only it pauses.
  const used = c.poolStats().usedFrames;
  c.setPoolLimitMiB(Math.ceil(framesToMiB(used)) + 6);
  const g = c.createVm(linux('gamma'));
  await c.start(g.id);
  await stateReached(c, g.id, 'paused', 180_000);
  expect(c.get(g.id).reason).toBe(StateReason.OutOfMemoryBudget);
  expect(c.get(g.id).detail).toMatch(/frame pool is exhausted/);
  expect(c.get(a.id).state).toBe('running');
  expect(c.get(b.id).state).toBe('running');
  await answers(a.id);
  await answers(b.id);
  await expect(c.resume(g.id)).rejects.toThrow(/out of memory budget/);

  // Deleting a VM returns its frames (and its scratch frame) to the pool.
  const beforeDelete = c.poolStats().usedFrames;
  await c.pause(b.id);
  const residentBNow = c.residentFrames(b.id);
  await c.deleteVm(b.id);
  expect(c.poolStats().usedFrames).toBe(beforeDelete - residentBNow - 1);

  // Room was made: the paused VM resumes and finishes booting.
  await c.resume(g.id);
  await c.waitFor(g.id, PROMPT, 180_000);
  await answers(g.id);
  await sleep(100);
  expect(c.get(a.id).state).toBe('running');
});

test('a worker that dies without releasing its machine: the coordinator takes its frames back', { timeout: 120_000 }, async () => {
  const before = c.poolStats().usedFrames;
  // The test worker exits the thread in the middle of the 10th slice (see test-guest.worker.ts).
  const dies = c.createVm(linux('exits'));
  let peak = before;
  const poll = setInterval(() => (peak = Math.max(peak, c.poolStats().usedFrames)), 1);
  await c.start(dies.id).catch(() => undefined);
  await stateReached(c, dies.id, 'error', 60_000);
  clearInterval(poll);
  // It held the kernel and initrd (and more) when it died.
  expect(peak - before).toBeGreaterThan(1000);
  expect(c.get(dies.id).reason).toBe(StateReason.WorkerCrashed);
  for (let i = 0; i < 100 && c.poolStats().usedFrames !== before; i++) await sleep(50);
  expect(c.poolStats().usedFrames).toBe(before);
  expect(c.memoryMap(dies.id)).toBeUndefined();
});
