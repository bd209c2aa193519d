/**
 * A Linux guest with the JIT on, in a worker on the coordinator's shared
 * frame pool (generated code imports the shared WebAssembly.Memory): it
 * reaches the prompt, computes, survives a snapshot and restore.
 */
import { afterAll, beforeAll, expect, test } from 'vitest';
import type { Coordinator } from './coordinator.ts';
import { testCoordinator } from './test-support/harness.ts';
import { linuxVm, startImageServer, type ImageServer } from './test-support/image-server.ts';

const PROMPT = /root@tabvisor:~# /;
let images: ImageServer;
let c: Coordinator;

beforeAll(async () => {
  images = await startImageServer();
  c = testCoordinator({ cpuBudgetCores: 1.6 });
});

afterAll(async () => {
  await c?.dispose();
  await images?.close();
});

test('a JIT-enabled Linux VM boots, computes and restores from a snapshot', { timeout: 240_000 }, async () => {
  const vm = c.createVm({ ...linuxVm(images, 'jit'), jit: true });
  expect(vm.config.jit).toBe(true);
  await c.start(vm.id);
  await c.waitFor(vm.id, PROMPT, 120_000);
  await c.send(vm.id, 'i=0; s=0; while [ $i -lt 3000 ]; do s=$((s+i*i)); i=$((i+1)); done; echo sum=$s\n');
  await c.waitFor(vm.id, /sum=8995500500/, 120_000);
  await c.send(vm.id, 'echo kept > /tmp/k; echo saved-$((1+1))\n');
  await c.waitFor(vm.id, /saved-2/, 60_000);
  const file = await c.snapshot(vm.id);
  await c.send(vm.id, 'rm /tmp/k; echo removed-$((2+2))\n');
  await c.waitFor(vm.id, /removed-4/, 60_000);
  await c.restore(vm.id, file);
  await c.send(vm.id, 'cat /tmp/k; echo done-$((40+2))\n');
  await c.waitFor(vm.id, /kept\s+done-42/, 60_000);
});
