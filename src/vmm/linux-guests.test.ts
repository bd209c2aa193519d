/**
 * Real Linux guests under the coordinator, each in its own worker thread:
 * boot to the prompt, run a command, pause one while the other keeps its
 * clock running, a bad image becomes an error state of that VM only.
 */
import { afterAll, beforeAll, expect, test } from 'vitest';
import type { Coordinator } from './coordinator.ts';
import { sleep, testCoordinator } from './test-support/harness.ts';
import { linuxVm, startImageServer, type ImageServer } from './test-support/image-server.ts';
import type { VmConfigInput } from './vm-registry.ts';

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

function linux(name: string, kernel = 'bzImage'): VmConfigInput {
  return linuxVm(images, name, kernel);
}

async function uptime(id: string): Promise<number> {
  const marker = `U${Math.random().toString(36).slice(2, 8)}`;
  await c.send(id, `echo ${marker} $(cut -d' ' -f1 /proc/uptime)\n`);
  const m = await c.waitFor(id, new RegExp(`${marker} (\\d+\\.\\d+)`), 30_000);
  return Number(m[1]);
}

test('two Linux VMs boot in workers; pausing one stops its clock, the other runs on', { timeout: 240_000 }, async () => {
  const a = c.createVm(linux('alpha'));
  const b = c.createVm(linux('beta'));
  await Promise.all([c.start(a.id), c.start(b.id)]);
  await Promise.all([c.waitFor(a.id, PROMPT, 180_000), c.waitFor(b.id, PROMPT, 180_000)]);
  await c.send(a.id, 'echo $((6*7))\n');
  await c.waitFor(a.id, /\n42\r?\n/, 30_000);

  const a0 = await uptime(a.id);
  const b0 = await uptime(b.id);
  await c.pause(a.id);
  await sleep(2000);
  await c.resume(a.id);
  const a1 = await uptime(a.id);
  const b1 = await uptime(b.id);
  // The running guest's clock advanced by about the wall time; the paused one's barely moved.
  expect(b1 - b0).toBeGreaterThan(1.8);
  expect(a1 - a0).toBeLessThan(b1 - b0 - 1.5);
});

test('a file that is not a kernel is an error state of that VM only', { timeout: 60_000 }, async () => {
  const bad = c.createVm(linux('broken', 'manifest.json'));
  await c.start(bad.id).catch(() => undefined);
  for (let i = 0; i < 100 && c.get(bad.id).state !== 'error'; i++) await sleep(50);
  const info = c.get(bad.id);
  expect(info.state).toBe('error');
  expect(`${info.reason} ${info.detail ?? ''}`).toMatch(/bzImage/);
  expect(c.list().filter((v) => v.config.name !== 'broken').map((v) => `${v.config.name}:${v.state}`)).toEqual(['alpha:running', 'beta:running']);
});
