/**
 * Snapshots of real Linux guests under the coordinator, each in its own
 * worker thread: save, change the guest, restore, and the change is undone;
 * a damaged file is refused with a clear reason and the VM runs on; a clone
 * starts from the snapshot; another VM is unaffected throughout.
 */
import { afterAll, beforeAll, expect, test } from 'vitest';
import type { Coordinator } from './coordinator.ts';
import { testCoordinator } from './test-support/harness.ts';
import { linuxVm, startImageServer, type ImageServer } from './test-support/image-server.ts';
import type { VmConfigInput } from './vm-registry.ts';
import { Counter } from './shared/control-block.ts';

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

function linux(name: string): VmConfigInput {
  return linuxVm(images, name);
}

let markers = 0;
/** Runs `command` in the guest and returns its output (one line), found by a fresh marker. */
async function run(id: string, command: string): Promise<string> {
  const marker = `M${++markers}x`;
  await c.send(id, `{ ${command}; } 2>&1 | sed 's/^/${marker}:/'\n`);
  const m = await c.waitFor(id, new RegExp(`\\n${marker}:([^\\r\\n]*)\\r?\\n`), 30_000);
  return m[1]!;
}

test('snapshot, change, restore: the change is undone; a corrupt file is refused; a clone starts from the snapshot', { timeout: 300_000 }, async () => {
  const a = c.createVm(linux('alpha'));
  const b = c.createVm(linux('beta'));
  await Promise.all([c.start(a.id), c.start(b.id)]);
  await Promise.all([c.waitFor(a.id, PROMPT, 180_000), c.waitFor(b.id, PROMPT, 180_000)]);
  expect(await run(b.id, 'echo beta > /tmp/a; cat /tmp/a')).toBe('beta');

  expect(await run(a.id, 'echo hello > /tmp/a; cat /tmp/a')).toBe('hello');
  const t0 = performance.now();
  const file = await c.snapshot(a.id);
  const saveMs = performance.now() - t0;
  expect(file).toBeInstanceOf(Uint8Array);
  expect(file.length).toBeGreaterThan(100_000);
  expect(c.get(a.id).state).toBe('running');

  expect(await run(a.id, 'rm /tmp/a; ls /tmp/a')).toMatch(/No such file/);
  const t1 = performance.now();
  await c.restore(a.id, file);
  const restoreMs = performance.now() - t1;
  expect(c.get(a.id).state).toBe('running');
  expect(await run(a.id, 'cat /tmp/a')).toBe('hello');
  // The restored machine's RAM comes from the shared pool through the VM's (new) map.
  expect(c.residentFrames(a.id)).toBeGreaterThan(0);

  // A flipped byte: refused with the reason, the VM as it was.
  const bad = file.slice();
  bad[bad.length >> 1]! ^= 0x40;
  const refused = await c.restore(a.id, bad).then(
    () => undefined,
    (e: unknown) => (e instanceof Error ? e.message : String(e)),
  );
  expect(refused).toMatch(/snapshot|checksum|corrupt/i);
  expect(c.get(a.id).state).toBe('running');
  expect(await run(a.id, 'echo $((6*7)); cat /tmp/a >/dev/null')).toBe('42');

  // Paused stays paused across a restore, and runs from the snapshot when resumed.
  expect(await run(a.id, 'echo changed > /tmp/a; cat /tmp/a')).toBe('changed');
  await c.pause(a.id);
  await c.restore(a.id, file);
  expect(c.get(a.id).state).toBe('paused');
  await c.resume(a.id);
  expect(await run(a.id, 'cat /tmp/a')).toBe('hello');

  // A clone from the file: a new VM that starts where the snapshot was taken.
  const clone = await c.clone(file, linux('alpha-clone'));
  expect(clone.state).toBe('running');
  expect(await run(clone.id, 'cat /tmp/a')).toBe('hello');
  expect(await run(clone.id, 'echo clone > /tmp/a; cat /tmp/a')).toBe('clone');
  expect(await run(a.id, 'cat /tmp/a')).toBe('hello');
  await c.deleteVm(clone.id);

  // The other VM ran on untouched.
  expect(await run(b.id, 'cat /tmp/a')).toBe('beta');
  expect(c.list().map((v) => `${v.config.name}:${v.state}`)).toEqual(['alpha:running', 'beta:running']);
  console.log('snapshot via coordinator:', { sizeBytes: file.length, refused, saveMs: Math.round(saveMs), restoreMs: Math.round(restoreMs) });
});

// The JIT in a worker on the shared pool: generated code imports the shared WebAssembly.Memory.
test('a JIT-enabled Linux VM boots, computes and restores from a snapshot', { timeout: 240_000 }, async () => {
  const vm = c.createVm({ ...linux('jit'), jit: true });
  expect(vm.config.jit).toBe(true);
  await c.start(vm.id);
  await c.waitFor(vm.id, PROMPT, 120_000);
  await c.send(vm.id, 'i=0; s=0; while [ $i -lt 3000 ]; do s=$((s+i*i)); i=$((i+1)); done; echo sum=$s\n');
  await c.waitFor(vm.id, /sum=8995500500/, 120_000);
  // The loop ran (in part) as compiled code: the worker counts what the JIT retired.
  const jitRetired = async (): Promise<number> => (await c.workerStats(vm.id)).counters[Counter.JitInstructions]!;
  const compiledBefore = await jitRetired();
  expect(compiledBefore).toBeGreaterThan(1_000_000);
  await c.send(vm.id, 'echo kept > /tmp/k; echo saved-$((1+1))\n');
  await c.waitFor(vm.id, /saved-2/, 60_000);
  const file = await c.snapshot(vm.id);
  await c.send(vm.id, 'rm /tmp/k; echo removed-$((2+2))\n');
  await c.waitFor(vm.id, /removed-4/, 60_000);
  await c.restore(vm.id, file);
  await c.send(vm.id, 'cat /tmp/k; echo done-$((40+2))\n');
  await c.waitFor(vm.id, /kept\s+done-42/, 60_000);
  // The restored machine compiles afresh; its count adds to the worker's.
  await c.send(vm.id, 'i=0; while [ $i -lt 2000 ]; do i=$((i+1)); done; echo again-$i\n');
  await c.waitFor(vm.id, /again-2000/, 120_000);
  expect(await jitRetired()).toBeGreaterThan(compiledBefore + 1_000_000);
});
