import { afterEach, describe, expect, it } from 'vitest';
import { ControlBlock, Counter, RunRequest, WorkerState } from '../shared/control-block.ts';
import { PROTOCOL_VERSION, StateReason, type GuestEvent, type ImageSpec, type SyntheticSpec } from '../shared/protocol.ts';
import { SpscRing } from '../shared/spsc-ring.ts';
import type { GuestMachine, SliceResult } from './guest-machine.ts';
import { GuestRuntime } from './guest-runtime.ts';
import { createDefaultMachine } from './machine-factory.ts';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function until(condition: () => boolean, timeoutMs = 3000): Promise<void> {
  const end = performance.now() + timeoutMs;
  while (!condition()) {
    if (performance.now() > end) throw new Error('condition not reached in time');
    await sleep(5);
  }
}

interface Harness {
  runtime: GuestRuntime;
  control: ControlBlock;
  /** Coordinator side: producer of console input. */
  input: SpscRing;
  /** Coordinator side: consumer of console output. */
  output: SpscRing;
  events: GuestEvent[];
  counters(): Float64Array;
  drain(): string;
}

const running: GuestRuntime[] = [];

afterEach(async () => {
  for (const runtime of running.splice(0)) await runtime.stop().catch(() => undefined);
});

async function harness(
  spec: SyntheticSpec | (() => GuestMachine),
  options: { shared?: boolean; outputBytes?: number; blocking?: boolean } = {},
): Promise<Harness> {
  const shared = options.shared ?? true;
  const runtime = new GuestRuntime({
    factory: typeof spec === 'function' ? spec : createDefaultMachine,
    preferBlockingWait: options.blocking ?? false,
  });
  running.push(runtime);
  const control = ControlBlock.create(shared);
  const input = SpscRing.create(1024, shared, shared ? { consumerWake: control.wakeWord } : {});
  const output = SpscRing.create(options.outputBytes ?? 4096, shared);
  const events: GuestEvent[] = [];
  const image: ImageSpec = typeof spec === 'function' ? { kind: 'synthetic', synthetic: { behaviour: 'idle' } } : { kind: 'synthetic', synthetic: spec };
  await runtime.create(
    {
      protocolVersion: PROTOCOL_VERSION,
      config: { vmId: 'vm-test', name: 'test', ramMiB: 16, image },
      channels: { mode: shared ? 'shared' : 'message', control: control.buffer, consoleIn: input.buffer, consoleOut: output.buffer },
    },
    (event) => {
      events.push(event);
    },
  );
  const decoder = new TextDecoder();
  return {
    runtime,
    control,
    input,
    output,
    events,
    counters() {
      const out = ControlBlock.counterArray();
      control.readCounters(out);
      return out;
    },
    drain() {
      const bytes = new Uint8Array(output.available());
      output.read(bytes);
      return decoder.decode(bytes);
    },
  };
}

describe('GuestRuntime', () => {
  it('refuses a coordinator that speaks another protocol version', async () => {
    const runtime = new GuestRuntime({ factory: createDefaultMachine });
    const control = ControlBlock.create(true);
    await expect(
      runtime.create(
        {
          protocolVersion: PROTOCOL_VERSION + 1,
          config: { vmId: 'vm-x', name: 'x', ramMiB: 16, image: { kind: 'synthetic', synthetic: { behaviour: 'idle' } } },
          channels: { mode: 'shared', control: control.buffer, consoleIn: SpscRing.allocate(64, true), consoleOut: SpscRing.allocate(64, true) },
        },
        () => undefined,
      ),
    ).rejects.toThrow(new RegExp(`protocol mismatch.*version ${PROTOCOL_VERSION + 1}.*version ${PROTOCOL_VERSION}\\b`));
    expect((await runtime.hello()).protocolVersion).toBe(PROTOCOL_VERSION);
  });

  it('reports a machine that cannot be built as a failed create', async () => {
    const runtime = new GuestRuntime({ factory: createDefaultMachine });
    const control = ControlBlock.create(true);
    await expect(
      runtime.create(
        {
          protocolVersion: PROTOCOL_VERSION,
          config: { vmId: 'vm-x', name: 'x', ramMiB: 16, image: { kind: 'linux', kernelUrl: '/images/bzImage' } },
          channels: { mode: 'shared', control: control.buffer, consoleIn: SpscRing.allocate(64, true), consoleOut: SpscRing.allocate(64, true) },
        },
        () => undefined,
      ),
    ).rejects.toThrow(/the image \/images\/bzImage could not be downloaded/);
  });

  it('runs only on tokens and sleeps as throttled when they run out', async () => {
    const h = await harness({ behaviour: 'busy' });
    h.control.grant(20_000, 20_000);
    const report = await h.runtime.boot();
    expect(report.state).toBe('running');
    expect(h.control.current()).toBe(WorkerState.Running);
    await sleep(200);
    const c = h.counters();
    // 20 ms granted; a slice may overrun its end when the host preempts it.
    expect(c[Counter.HostUsedUs]).toBeGreaterThan(15_000);
    expect(c[Counter.HostUsedUs]).toBeLessThan(60_000);
    expect(c[Counter.Instructions]).toBeGreaterThan(0);
    // A grant wakes it at once; the wait it ends counts as throttled.
    const granted = h.control.grant(50_000, 50_000);
    await until(() => h.counters()[Counter.HostUsedUs]! >= c[Counter.HostUsedUs]! + granted - 1000, 1000);
    expect(h.counters()[Counter.ThrottledUs]).toBeGreaterThan(100_000);
  });

  it('sleeps while the guest halts and wakes at once on console input', async () => {
    const h = await harness({ behaviour: 'idle', sleepMs: 1000, banner: 'ready\n' });
    h.control.grant(50_000, 50_000);
    await h.runtime.boot();
    await until(() => h.output.available() > 0);
    expect(h.drain()).toBe('ready\n');
    await sleep(100);
    const before = h.counters();
    const t0 = performance.now();
    h.input.write(new TextEncoder().encode('ping'));
    let echoed = '';
    await until(() => (echoed += h.drain()).includes('ping'));
    expect(performance.now() - t0).toBeLessThan(500);
    const after = h.counters();
    expect(after[Counter.ConsoleInBytes]! - before[Counter.ConsoleInBytes]!).toBe(4);
    expect(after[Counter.HostUsedUs]).toBeLessThan(20_000);
  });

  it('feeds input no faster than the UART takes it', async () => {
    const h = await harness({ behaviour: 'idle', sleepMs: 5 });
    h.control.grant(50_000, 50_000);
    await h.runtime.boot();
    const text = 'a fairly long line that is longer than a sixteen byte FIFO\n';
    expect(h.input.write(new TextEncoder().encode(text))).toBe(text.length);
    let echoed = '';
    await until(() => (echoed += h.drain()).length >= text.length);
    expect(echoed).toBe(text);
  });

  it('reports a guest that ends itself as stopped with its reason', async () => {
    const h = await harness({ behaviour: 'busy', stopAfterMs: 20, stopReason: 'triple fault' });
    h.control.grant(100_000, 100_000);
    await h.runtime.boot();
    await until(() => h.events.some((e) => e.state === 'stopped'));
    const stopped = h.events.find((e) => e.state === 'stopped')!;
    expect(stopped).toMatchObject({ type: 'state', vmId: 'vm-test', reason: 'triple fault' });
    expect(h.control.current()).toBe(WorkerState.Stopped);
    await expect(h.runtime.resume()).rejects.toThrow(/stopped \(triple fault\)/);
  });

  it('catches an engine exception and reports it as an error with the VM id', async () => {
    const h = await harness({ behaviour: 'busy', throwAfterMs: 10 });
    h.control.grant(100_000, 100_000);
    await h.runtime.boot();
    await until(() => h.events.some((e) => e.state === 'error'));
    const error = h.events.find((e) => e.state === 'error')!;
    expect(error.vmId).toBe('vm-test');
    expect(error.reason).toBe('synthetic engine fault');
    expect(error.detail).toMatch(/synthetic-machine/);
    expect(h.control.current()).toBe(WorkerState.Error);
  });

  it('turns an escaped error into worker crashed', async () => {
    const h = await harness({ behaviour: 'idle' });
    h.control.grant(10_000, 10_000);
    await h.runtime.boot();
    h.runtime.reportFatal(new Error('boom'));
    expect(h.events.at(-1)).toMatchObject({ state: 'error', reason: StateReason.WorkerCrashed });
    await expect(h.runtime.reset()).rejects.toThrow(/crashed/);
  });

  it('holds a VM that reaches its memory budget until the budget is raised', async () => {
    const h = await harness({ behaviour: 'busy', initialFrames: 16, framesPerMs: 10 });
    h.control.setMemoryBudgetFrames(200);
    h.control.grant(200_000, 200_000);
    await h.runtime.boot();
    await until(() => h.events.some((e) => e.state === 'paused'));
    const paused = h.events.find((e) => e.state === 'paused')!;
    expect(paused.reason).toBe(StateReason.OutOfMemoryBudget);
    expect(h.counters()[Counter.ResidentFrames]).toBeGreaterThanOrEqual(200);
    expect(h.control.requested()).toBe(RunRequest.Run);
    // Still over budget: resume refuses and the VM stays held.
    expect((await h.runtime.resume()).state).toBe('paused');
    h.control.setMemoryBudgetFrames(100_000);
    expect((await h.runtime.resume()).state).toBe('running');
  });

  it('pauses, resumes, resets and stops with increasing report numbers', async () => {
    const h = await harness({ behaviour: 'busy', banner: 'boot\n' });
    h.control.grant(1_000_000, 1_000_000);
    const reports = [await h.runtime.boot()];
    reports.push(await h.runtime.pause());
    expect(h.control.current()).toBe(WorkerState.Paused);
    reports.push(await h.runtime.resume());
    reports.push(await h.runtime.reset());
    reports.push(await h.runtime.stop());
    expect(reports.map((r) => r.state)).toEqual(['running', 'paused', 'running', 'running', 'stopped']);
    for (let i = 1; i < reports.length; i++) expect(reports[i]!.seq).toBeGreaterThan(reports[i - 1]!.seq);
    expect(h.drain()).toBe('boot\nboot\n');
    expect(h.control.generation()).toBe(2);
  });

  it('works with blocking waits where waitAsync is missing', async () => {
    const h = await harness({ behaviour: 'idle', sleepMs: 5 }, { blocking: true });
    expect((await h.runtime.hello()).waitMode).toBe('blocking');
    h.control.grant(10_000, 10_000);
    await h.runtime.boot();
    await sleep(50);
    expect(h.counters()[Counter.HaltedUs]).toBeGreaterThan(10_000);
    expect((await h.runtime.stop()).state).toBe('stopped');
  });

  it('stops running a guest whose output nobody drains, without losing it', async () => {
    let produced = 0;
    const flood = (): GuestMachine => {
      const machine: GuestMachine = {
        onConsoleOutput: () => undefined,
        runSlice(): SliceResult {
          const line = new Uint8Array(8192).fill(0x41);
          produced += line.length;
          machine.onConsoleOutput(line);
          return { instructions: 1, halted: false, sleepMs: 0 };
        },
        consoleInput: () => 0,
        residentFrames: () => 1,
      };
      return machine;
    };
    const h = await harness(flood, { outputBytes: 1024 });
    h.control.grant(1_000_000, 1_000_000);
    await h.runtime.boot();
    await sleep(100);
    const c = h.counters();
    expect(c[Counter.BackpressureUs]).toBeGreaterThan(20_000);
    expect(c[Counter.Slices]).toBeLessThan(20);
    expect(c[Counter.ConsoleDroppedBytes]).toBe(0);
    let received = 0;
    await until(() => {
      received += h.output.read(new Uint8Array(4096));
      return received >= 64 * 1024;
    });
    // Draining lets it run again; nothing was dropped on the way.
    await until(() => h.counters()[Counter.Slices]! > c[Counter.Slices]!);
    expect(h.counters()[Counter.ConsoleOutBytes]).toBe(produced);
    expect(h.counters()[Counter.ConsoleDroppedBytes]).toBe(0);
  });

  it('runs over plain buffers with sync messages (no shared memory)', async () => {
    const h = await harness({ behaviour: 'idle', sleepMs: 5, banner: 'hi\n' }, { shared: false });
    expect((await h.runtime.hello()).waitMode).toBe('waitAsync');
    const sync = (consoleIn: Uint8Array, grantedUs: number) =>
      h.runtime.sync({ requested: RunRequest.Run, grantedUs, memoryBudgetFrames: 0, consoleIn });
    await sync(new Uint8Array(0), 20_000);
    await h.runtime.boot();
    let text = '';
    const decoder = new TextDecoder();
    const first = await sync(new TextEncoder().encode('xy'), 20_000);
    expect(first.consoleInAccepted).toBe(2);
    text += decoder.decode(first.consoleOut);
    for (let i = 0; i < 20 && !text.includes('xy'); i++) {
      await sleep(10);
      text += decoder.decode((await sync(new Uint8Array(0), 20_000)).consoleOut);
    }
    expect(text).toBe('hi\nxy');
    const last = await sync(new Uint8Array(0), 20_000);
    expect(last.current).toBe(WorkerState.Running);
    expect(last.counters[Counter.HaltedUs]).toBeGreaterThan(0);
  });
});

/**
 * A machine whose whole state is a counter of slices: its snapshot is the
 * counter as text, and restore refuses anything else (as a SnapshotError does).
 */
class CountingMachine implements GuestMachine {
  onConsoleOutput: (bytes: Uint8Array) => void = () => {};
  disposed = false;
  paused = false;
  constructor(public slices = 0) {}
  runSlice(): SliceResult {
    if (this.disposed) throw new Error('a disposed machine ran');
    this.slices++;
    return { instructions: 1000, halted: true, sleepMs: 1 };
  }
  consoleInput(bytes: Uint8Array): number {
    return bytes.length;
  }
  residentFrames(): number {
    return 1;
  }
  pause(): void {
    this.paused = true;
  }
  resume(): void {
    this.paused = false;
  }
  dispose(): void {
    this.disposed = true;
  }
  async snapshot(): Promise<Uint8Array> {
    return new TextEncoder().encode(`count ${this.slices}`);
  }
  async restore(file: Uint8Array): Promise<GuestMachine> {
    const m = /^count (\d+)$/.exec(new TextDecoder().decode(file));
    if (!m) throw new Error('snapshot is damaged: its checksum does not match');
    const restored = new CountingMachine(Number(m[1]));
    made.push(restored);
    return restored;
  }
}
const made: CountingMachine[] = [];

describe('GuestRuntime snapshots', () => {
  it('snapshots between slices and keeps running; a restore swaps machines only when the new one is built', async () => {
    made.length = 0;
    const first = new CountingMachine();
    const h = await harness(() => first);
    h.control.grant(1_000_000, 1_000_000);
    await h.runtime.boot();
    await until(() => first.slices > 5);
    const file = await h.runtime.snapshot();
    expect(new TextDecoder().decode(file)).toMatch(/^count \d+$/);
    const saved = Number(new TextDecoder().decode(file).slice(6));
    await until(() => first.slices > saved + 5);

    // A bad file: refused with the reason, the machine untouched and still running.
    await expect(h.runtime.restore({ file: new TextEncoder().encode('garbage') })).rejects.toThrow(/checksum/);
    const before = first.slices;
    await until(() => first.slices > before + 3);
    expect(first.disposed).toBe(false);

    const report = await h.runtime.restore({ file });
    expect(report.state).toBe('running');
    expect(first.disposed).toBe(true);
    const restored = made[0]!;
    await until(() => restored.slices > saved + 3);

    // Paused stays paused, with the new machine's clock stopped too.
    await h.runtime.pause();
    expect((await h.runtime.restore({ file })).state).toBe('paused');
    const again = made[1]!;
    expect(again.paused).toBe(true);
    expect(restored.disposed).toBe(true);
    await sleep(50);
    expect(again.slices).toBe(saved);
    expect((await h.runtime.resume()).state).toBe('running');
    expect(again.paused).toBe(false);
    await until(() => again.slices > saved + 3);
  });

  it('a machine without snapshot support says so', async () => {
    const h = await harness({ behaviour: 'idle' });
    await expect(h.runtime.snapshot()).rejects.toThrow(/does not support snapshots/);
    await expect(h.runtime.restore({ file: new Uint8Array(8) })).rejects.toThrow(/does not support snapshots/);
  });
});
