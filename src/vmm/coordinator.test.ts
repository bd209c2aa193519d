/**
 * Multi-VM coordinator tests: real worker_threads, synthetic guests.
 * CPU budgets are kept small (the machine is shared); nothing here asserts a
 * timing tighter than "eventually, within seconds".
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { Coordinator } from './coordinator.ts';
import { IllegalTransitionError } from './lifecycle.ts';
import { Counter } from './shared/control-block.ts';
import { PROTOCOL_VERSION, StateReason } from './shared/protocol.ts';
import { sleep, stateReached, synthetic, testCoordinator } from './test-support/harness.ts';
import type { VmStateChange } from './vm-registry.ts';

const coordinators: Coordinator[] = [];
function coordinator(...args: Parameters<typeof testCoordinator>): Coordinator {
  const c = testCoordinator({ cpuBudgetCores: 0.5, ...args[0] }, args[1]);
  coordinators.push(c);
  return c;
}

afterEach(async () => {
  await Promise.all(coordinators.splice(0).map((c) => c.dispose()));
});

const hostUsed = (c: Coordinator, id: string) => c.counters(id)?.[Counter.HostUsedUs] ?? 0;

describe('Coordinator lifecycle', () => {
  it('runs a VM through start, console I/O, pause, resume, reset, stop, restart and delete', async () => {
    const c = coordinator();
    const changes: string[] = [];
    c.onStateChange((e) => changes.push(`${e.from}>${e.to}`));
    const vm = c.createVm(synthetic({ behaviour: 'busy', banner: 'tabvisor synthetic\n' }, { name: 'life' }));
    expect(c.list().map((v) => v.state)).toEqual(['created']);
    await expect(c.pause(vm.id)).rejects.toThrow(IllegalTransitionError);

    await c.start(vm.id);
    expect(c.get(vm.id).state).toBe('running');
    await expect(c.start(vm.id)).rejects.toThrow(`cannot start ${vm.id}: it is running`);
    await c.waitFor(vm.id, /tabvisor synthetic/, 5000);
    await c.send(vm.id, 'hello guest\n');
    expect((await c.waitFor(vm.id, /hello (\w+)/, 5000))[1]).toBe('guest');

    await c.pause(vm.id);
    const pausedAt = hostUsed(c, vm.id);
    await sleep(150);
    expect(hostUsed(c, vm.id)).toBe(pausedAt);
    await c.resume(vm.id);
    await sleep(100);
    expect(hostUsed(c, vm.id)).toBeGreaterThan(pausedAt);

    await c.reset(vm.id);
    expect(c.get(vm.id).state).toBe('running');
    await c.waitFor(vm.id, /tabvisor synthetic/, 5000);

    await c.stop(vm.id);
    expect(c.get(vm.id).state).toBe('stopped');
    await expect(c.send(vm.id, 'x')).rejects.toThrow(/it is stopped/);
    await c.start(vm.id);
    await c.waitFor(vm.id, /tabvisor synthetic/, 5000);
    expect(c.read(vm.id).match(/tabvisor synthetic/g)).toHaveLength(3);

    await c.deleteVm(vm.id);
    expect(c.list()).toEqual([]);
    expect(changes).toEqual([
      'created>starting',
      'starting>running',
      'running>paused',
      'paused>running',
      'running>starting',
      'starting>running',
      'running>stopped',
      'stopped>starting',
      'starting>running',
      'running>stopped',
      'stopped>deleted',
    ]);
  });

  it('turns only the failing VM into error: engine exception, uncaught error, dead worker', async () => {
    const c = coordinator();
    const healthy = c.createVm(synthetic({ behaviour: 'busy' }, { name: 'healthy' }));
    const idle = c.createVm(synthetic({ behaviour: 'idle' }, { name: 'idle' }));
    const throws = c.createVm(synthetic({ behaviour: 'busy', throwAfterMs: 30 }, { name: 'throws' }));
    const uncaught = c.createVm(synthetic({ behaviour: 'busy', uncaughtAfterMs: 30 }, { name: 'uncaught' }));
    const exits = c.createVm(synthetic({ behaviour: 'busy' }, { name: 'exits' }));
    const errors: VmStateChange[] = [];
    c.onStateChange((e) => {
      if (e.to === 'error') errors.push(e);
    });
    await Promise.all([healthy, idle, throws, uncaught, exits].map((vm) => c.start(vm.id)));
    await Promise.all([throws, uncaught, exits].map((vm) => stateReached(c, vm.id, 'error')));

    expect(c.get(throws.id)).toMatchObject({ state: 'error', reason: 'synthetic engine fault' });
    expect(c.get(throws.id).detail).toMatch(/Error: synthetic engine fault/);
    expect(c.get(uncaught.id)).toMatchObject({ state: 'error', reason: StateReason.WorkerCrashed });
    expect(c.get(uncaught.id).detail).toMatch(/synthetic uncaught error/);
    expect(c.get(exits.id)).toMatchObject({ state: 'error', reason: StateReason.WorkerCrashed });
    expect(c.get(exits.id).detail).toMatch(/exited with code 3/);
    expect(errors.map((e) => e.id).sort()).toEqual([throws.id, uncaught.id, exits.id].sort());

    expect(c.get(healthy.id).state).toBe('running');
    expect(c.get(idle.id).state).toBe('running');
    const before = hostUsed(c, healthy.id);
    await sleep(200);
    expect(hostUsed(c, healthy.id)).toBeGreaterThan(before);
    expect(c.counters(exits.id)).toBeUndefined();

    // A failed VM can be stopped, restarted in a new worker, or deleted.
    await c.stop(throws.id);
    expect(c.get(throws.id).state).toBe('stopped');
    await c.deleteVm(uncaught.id);
    expect(c.list().map((v) => v.id)).not.toContain(uncaught.id);
  });

  it('declares a worker that stopped responding crashed, without touching the others', async () => {
    const c = coordinator({ hangTimeoutMs: 600 });
    const hangs = c.createVm(synthetic({ behaviour: 'busy', hangAfterMs: 20 }, { name: 'hangs' }));
    const fine = c.createVm(synthetic({ behaviour: 'idle' }, { name: 'fine' }));
    await Promise.all([c.start(hangs.id), c.start(fine.id)]);
    await stateReached(c, hangs.id, 'error', 5000);
    expect(c.get(hangs.id).reason).toBe(StateReason.WorkerCrashed);
    expect(c.get(hangs.id).detail).toMatch(/stopped responding/);
    await sleep(800);
    expect(c.get(fine.id).state).toBe('running');
  });

  it('reports a guest that ends itself (triple fault) as stopped with the reason, and can reset it', async () => {
    const c = coordinator();
    const vm = c.createVm(synthetic({ behaviour: 'busy', stopAfterMs: 40, stopReason: 'triple fault', banner: 'up\n' }));
    const pendingWait = c.waitFor(vm.id, /never printed/, 10_000);
    await c.start(vm.id);
    await stateReached(c, vm.id, 'stopped');
    expect(c.get(vm.id)).toMatchObject({ state: 'stopped', reason: 'triple fault' });
    await expect(pendingWait).rejects.toThrow(/stopped \(triple fault\)/);
    const changes: string[] = [];
    c.onStateChange((e) => changes.push(e.to));
    await c.reset(vm.id);
    await stateReached(c, vm.id, 'stopped');
    expect(changes).toEqual(['starting', 'running', 'stopped']);
    expect(c.transcript(vm.id)).toBe('up\nup\n');
  });

  it('refuses a worker that speaks another protocol version, with a clear reason', async () => {
    const c = coordinator({}, { guestEntry: new URL('./test-support/old-protocol.worker.ts', import.meta.url) });
    const vm = c.createVm(synthetic({ behaviour: 'idle' }));
    await c.start(vm.id);
    expect(c.get(vm.id).state).toBe('error');
    expect(c.get(vm.id).reason).toMatch(new RegExp(`worker protocol mismatch: the guest worker of vm-1 speaks version 999, this side speaks version ${PROTOCOL_VERSION}`));
  });

  it('refuses snapshots of a VM that is not running or cannot take them, and the VM runs on', async () => {
    const c = coordinator();
    const vm = c.createVm(synthetic({ behaviour: 'idle', banner: 'up\n' }));
    await expect(c.snapshot(vm.id)).rejects.toThrow(/cannot snapshot vm-1: it is created/);
    await c.start(vm.id);
    await expect(c.snapshot(vm.id)).rejects.toThrow(/does not support snapshots/);
    await expect(c.restore(vm.id, new Uint8Array(16))).rejects.toThrow(/does not support snapshots/);
    expect(c.get(vm.id).state).toBe('running');
    await c.send(vm.id, 'ping\n');
    await c.waitFor(vm.id, /ping/, 5000);
  });

  it('reports an image the worker cannot boot as an error', async () => {
    const c = coordinator();
    const vm = c.createVm({ image: { kind: 'linux', kernelUrl: '/images/bzImage' } });
    await c.start(vm.id);
    expect(c.get(vm.id)).toMatchObject({ state: 'error' });
    expect(c.get(vm.id).reason).toMatch(/the image \/images\/bzImage could not be downloaded/);
  });
});

describe('Coordinator memory budgets', () => {
  it('pauses only the VM that reached its budget; it resumes once the budget is raised', async () => {
    const c = coordinator();
    const grows = c.createVm(synthetic({ behaviour: 'busy', initialFrames: 64, framesPerMs: 20 }, { name: 'grows', ramMiB: 64, memoryBudgetMiB: 4 }));
    const busy = c.createVm(synthetic({ behaviour: 'busy', initialFrames: 512 }, { name: 'busy', ramMiB: 64, memoryBudgetMiB: 4 }));
    const idle = c.createVm(synthetic({ behaviour: 'idle' }, { name: 'idle', memoryBudgetMiB: 1 }));
    await Promise.all([grows, busy, idle].map((vm) => c.start(vm.id)));
    await stateReached(c, grows.id, 'paused');
    expect(c.get(grows.id)).toMatchObject({ state: 'paused', reason: StateReason.OutOfMemoryBudget });
    expect(c.counters(grows.id)![Counter.ResidentFrames]).toBeGreaterThanOrEqual(1024);
    await sleep(150);
    expect(c.get(busy.id).state).toBe('running');
    expect(c.get(idle.id).state).toBe('running');

    await expect(c.resume(grows.id)).rejects.toThrow(/cannot resume vm-1: out of memory budget/);
    expect(c.get(grows.id).state).toBe('paused');
    c.setMemoryBudget(grows.id, 1024);
    await c.resume(grows.id);
    expect(c.get(grows.id).state).toBe('running');
  });

  it('overcommits RAM, and when the pool runs out pauses only the VM that kept growing', async () => {
    const c = coordinator({ poolLimitMiB: 8 });
    // 3 x 1 GiB of guest RAM on an 8 MiB pool: fine while resident memory is small.
    const steady = c.createVm(synthetic({ behaviour: 'busy', initialFrames: 1024 }, { name: 'steady', ramMiB: 1024 }));
    const idle = c.createVm(synthetic({ behaviour: 'idle', initialFrames: 256 }, { name: 'idle', ramMiB: 1024 }));
    const grows = c.createVm(synthetic({ behaviour: 'busy', initialFrames: 16, framesPerMs: 10 }, { name: 'grows', ramMiB: 1024 }));
    // The growing VM starts once the others hold their frames: started together, it could take the
    // whole pool before a slow worker (a loaded CI machine) made the idle VM's initial frames.
    await Promise.all([steady, idle].map((vm) => c.start(vm.id)));
    await c.start(grows.id);
    await stateReached(c, grows.id, 'paused');
    expect(c.get(grows.id).reason).toBe(StateReason.OutOfMemoryBudget);
    expect(c.get(grows.id).detail).toMatch(/pool is exhausted/);
    await sleep(150);
    expect(c.get(steady.id).state).toBe('running');
    expect(c.get(idle.id).state).toBe('running');
  });
});

describe('Coordinator without shared memory', () => {
  it('runs VMs over messages (the non-isolated fallback)', async () => {
    const c = coordinator({}, { sharedMemory: false });
    expect(c.channelMode).toBe('message');
    const vm = c.createVm(synthetic({ behaviour: 'idle', sleepMs: 5, banner: 'fallback\n' }));
    await c.start(vm.id);
    await c.waitFor(vm.id, /fallback/, 5000);
    await c.send(vm.id, 'typed over messages\n');
    await c.waitFor(vm.id, /typed over messages/, 5000);
    await c.pause(vm.id);
    await c.resume(vm.id);
    await sleep(200);
    expect(c.counters(vm.id)![Counter.HaltedUs]).toBeGreaterThan(0);
    await c.stop(vm.id);
    expect(c.get(vm.id).state).toBe('stopped');
  });
});

describe('Coordinator stats', () => {
  it('samples each VM into fixed-size series and fires onStats', async () => {
    const c = coordinator({ statsIntervalMs: 50, statsHistory: 8 });
    const vm = c.createVm(synthetic({ behaviour: 'busy', initialFrames: 512 }));
    let fired = 0;
    c.onStats((e) => {
      if (e.id === vm.id) fired++;
    });
    await c.start(vm.id);
    await sleep(700);
    const series = c.stats(vm.id);
    expect(series.time.length).toBe(8);
    expect(fired).toBeGreaterThanOrEqual(8);
    expect(Math.max(...series.hostCpuPercent)).toBeGreaterThan(5);
    expect(Math.max(...series.guestMips)).toBeGreaterThan(0);
    expect(c.latestStats(vm.id)!.residentMiB).toBe(2);
  });
});
