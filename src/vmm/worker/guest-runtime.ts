/**
 * The guest worker's side of the hypervisor: hosts one machine and runs its
 * slice loop. The coordinator reaches it by RPC (GuestWorkerApi, via comlink)
 * for rare operations; everything on the hot path goes through the control
 * block and the console rings.
 *
 * The loop, while the coordinator requests Run:
 *  - runs time-boxed slices (<= MAX_SLICE_MS, never more than the CPU tokens
 *    left), charging their wall time to the token balance and HostUsedUs;
 *  - out of tokens: sleeps on the wake word until the scheduler grants more
 *    (ThrottledUs);
 *  - guest halted: sleeps until the machine's next timer deadline, console
 *    input or a state request (HaltedUs), so an idle guest costs ~0 CPU;
 *  - returns to the event loop at least every BURST_MS so RPCs are served.
 * Sleeping uses Atomics.waitAsync where it exists (the event loop stays free),
 * else a bounded blocking Atomics.wait, else (message fallback, no shared
 * memory) a timer that `sync` cuts short.
 *
 * Every error is caught and reported as a state change to 'error' carrying the
 * VM id and a reason; a guest that ends itself reports 'stopped' with its
 * reason; reaching the memory budget holds the VM 'paused' with
 * StateReason.OutOfMemoryBudget until it is resumed under a larger budget.
 */
import { transfer } from 'comlink';
import { ControlBlock, Counter, RunRequest, WaitReason, WorkerState } from '../shared/control-block.ts';
import {
  checkProtocolVersion,
  PROTOCOL_VERSION,
  StateReason,
  type ChannelMode,
  type CreateRequest,
  type CreateResponse,
  type GuestConfig,
  type GuestEventSink,
  type GuestRunState,
  type GuestWorkerApi,
  type HelloResponse,
  type RestoreRequest,
  type StateReport,
  type SyncRequest,
  type SyncResponse,
  type WaitMode,
  type WorkerStats,
} from '../shared/protocol.ts';
import { SpscRing } from '../shared/spsc-ring.ts';
import { waitAsyncFunction, waitAsyncOn, waitBlocking, type WakeWord } from '../shared/wake.ts';
import { FramePool } from '../../core/memory/frame-pool.ts';
import type { GuestMachine, GuestMemoryResources, MachineFactory, MachineFactoryOptions, SliceResult } from './guest-machine.ts';
import { createYield } from './yield.ts';

/** Longest slice: bounds the latency of pause/stop requests and of token accounting. */
export const MAX_SLICE_MS = 5;
/** The event loop runs at least this often while the guest is busy. */
export const BURST_MS = 10;
/** Safety net while throttled: the scheduler normally wakes us long before. */
const TOKEN_WAIT_MS = 250;
const PAUSE_WAIT_MS = 1000;
/** Longest halt sleep, whatever the guest's timer says. */
const MAX_HALT_MS = 1000;
const OUTPUT_WAIT_MS = 10;
/** Longest blocking Atomics.wait before RPCs get a turn (platforms without waitAsync). */
const MAX_BLOCKING_MS = 20;
/** Above this much undelivered output the guest waits for the coordinator to drain. */
const OUTPUT_HIGH_WATER = 64 * 1024;
/** Beyond this, output is dropped (and counted). */
const OUTPUT_BACKLOG_MAX = 1024 * 1024;
const INPUT_CHUNK = 256;

const WORKER_STATE: Record<GuestRunState, WorkerState> = {
  idle: WorkerState.Idle,
  running: WorkerState.Running,
  paused: WorkerState.Paused,
  stopped: WorkerState.Stopped,
  error: WorkerState.Error,
};

export interface GuestRuntimeOptions {
  factory: MachineFactory;
  now?: () => number;
  /** Node: the thread's cumulative event-loop times. */
  eventLoop?: () => { activeMs: number; idleMs: number };
  /** The thread's own CPU time in ms, where the platform can tell (undefined otherwise). */
  threadCpuMs?: () => number | undefined;
  /** Forces blocking waits even where waitAsync exists (tests). */
  preferBlockingWait?: boolean;
}

interface Hold {
  reason: string;
  detail?: string;
}

interface ReportWaiter {
  accept: (report: StateReport) => boolean;
  resolve: (report: StateReport) => void;
}

export class GuestRuntime implements GuestWorkerApi {
  private readonly factory: MachineFactory;
  private readonly now: () => number;
  private readonly eventLoop: (() => { activeMs: number; idleMs: number }) | undefined;
  private readonly threadCpuMs: (() => number | undefined) | undefined;
  private readonly useWaitAsync: boolean;
  private readonly yieldNow = createYield();
  private readonly startedAt: number;
  private readonly counters = ControlBlock.counterArray();
  private readonly inputScratch = new Uint8Array(INPUT_CHUNK);
  private readonly local = new LocalWaiter();

  private config: GuestConfig | undefined;
  private mode: ChannelMode = 'shared';
  private control: ControlBlock | undefined;
  private input: SpscRing | undefined;
  private output: SpscRing | undefined;
  private events: GuestEventSink | undefined;
  private machine: GuestMachine | undefined;
  /** Guest RAM from the coordinator's shared frame pool (undefined: the machine uses a private pool). */
  private memory: GuestMemoryResources | undefined;
  /** Image bytes the coordinator sent with create (CreateRequest.images), by URL. */
  private images: ReadonlyMap<string, Uint8Array> = new Map();

  private report: StateReport = { seq: 0, state: 'idle' };
  private waiters: ReportWaiter[] = [];
  private hold: Hold | undefined;
  private fatal = false;
  private loop: Promise<void> | undefined;

  private backlog: Uint8Array[] = [];
  private backlogBytes = 0;
  private usRemainder = 0;
  private instructionsPerMs = 100_000;

  constructor(options: GuestRuntimeOptions) {
    this.factory = options.factory;
    this.now = options.now ?? (() => performance.now());
    this.eventLoop = options.eventLoop;
    this.threadCpuMs = options.threadCpuMs;
    this.useWaitAsync = !options.preferBlockingWait && waitAsyncFunction() !== undefined;
    this.startedAt = this.now();
  }

  // ---- RPC ---------------------------------------------------------------

  async hello(): Promise<HelloResponse> {
    return { protocolVersion: PROTOCOL_VERSION, waitMode: this.waitMode('shared') };
  }

  async create(request: CreateRequest, events: GuestEventSink): Promise<CreateResponse> {
    checkProtocolVersion(request.protocolVersion, 'the coordinator');
    if (this.config) throw new Error(`this worker already hosts VM ${this.config.vmId}`);
    const { channels } = request;
    const control = ControlBlock.attach(channels.control);
    if (channels.mode === 'shared' && !control.shared) {
      throw new Error("channel mode 'shared' needs SharedArrayBuffers");
    }
    this.mode = channels.mode;
    this.control = control;
    this.input = SpscRing.attach(channels.consoleIn);
    this.output = SpscRing.attach(channels.consoleOut);
    this.config = request.config;
    this.events = events;
    if (request.memory) {
      this.memory = { pool: FramePool.attachShared(request.memory.pool), map: new Int32Array(request.memory.map) };
    }
    this.images = new Map(request.images?.map((image) => [image.url, image.bytes]));
    await this.buildMachine({ restoreFollows: request.restoreFollows === true });
    this.publish();
    const response: CreateResponse = { vmId: request.config.vmId, waitMode: this.waitMode(this.mode) };
    if (this.memory && this.machine?.pooledMemory) response.pooledMemory = true;
    return response;
  }

  async boot(): Promise<StateReport> {
    const control = this.created();
    this.requireLive('boot');
    if (!this.machine) throw new Error('no machine to boot');
    const since = this.report.seq;
    this.requestRun(control);
    return this.awaitReport(since, (r) => r.state !== 'idle');
  }

  async pause(): Promise<StateReport> {
    const control = this.created();
    this.requireLive('pause');
    const since = this.report.seq;
    control.request(RunRequest.Pause);
    this.local.kick();
    if (!this.loop) this.enter('paused');
    return this.awaitReport(since, (r) => r.state !== 'running', (r) => r.state === 'paused');
  }

  async resume(): Promise<StateReport> {
    const control = this.created();
    this.requireLive('resume');
    if (this.hold && this.overBudget()) return this.report;
    if (this.hold && this.machine?.clearOutOfMemory) {
      const stillShort = this.machine.clearOutOfMemory();
      if (stillShort !== undefined) {
        this.hold = { reason: StateReason.OutOfMemoryBudget, detail: stillShort };
        return this.report;
      }
    }
    this.hold = undefined;
    const since = this.report.seq;
    this.requestRun(control);
    return this.awaitReport(since, (r) => r.state !== 'paused' || r.reason !== undefined, (r) => r.state === 'running');
  }

  async reset(): Promise<StateReport> {
    const control = this.created();
    if (this.fatal) throw new Error('the worker crashed; start a new one');
    if (this.loop) {
      const since = this.report.seq;
      control.request(RunRequest.Pause);
      this.local.kick();
      const paused = await this.awaitReport(since, (r) => r.state !== 'running', (r) => r.state === 'paused');
      if (paused.state === 'error') return paused;
    }
    this.dropMachine();
    this.hold = undefined;
    this.backlog = [];
    this.backlogBytes = 0;
    try {
      await this.buildMachine();
    } catch (error) {
      this.fail(error);
      return this.report;
    }
    this.enter('idle');
    const since = this.report.seq;
    this.requestRun(control);
    return this.awaitReport(since, (r) => r.state !== 'idle');
  }

  async stop(): Promise<StateReport> {
    const control = this.created();
    if (this.report.state === 'stopped' || this.report.state === 'error') return this.report;
    const since = this.report.seq;
    control.request(RunRequest.Stop);
    this.local.kick();
    if (!this.loop) {
      this.dropMachine();
      this.enter('stopped');
    }
    return this.awaitReport(since, (r) => r.state === 'stopped' || r.state === 'error', (r) => r.state === 'stopped');
  }

  async stats(): Promise<WorkerStats> {
    this.publish();
    const stats: WorkerStats = { counters: this.counters.slice() };
    if (this.eventLoop) stats.eventLoop = this.eventLoop();
    const cpu = this.threadCpuMs?.();
    if (cpu !== undefined) stats.threadCpuMs = cpu;
    return stats;
  }

  async sync(request: SyncRequest): Promise<SyncResponse> {
    const control = this.created();
    if (this.mode !== 'message') throw new Error("sync is only used in channel mode 'message'");
    const output = this.output!;
    control.request(request.requested as RunRequest);
    control.setGrantedTotal(request.grantedUs);
    control.setMemoryBudgetFrames(request.memoryBudgetFrames);
    const accepted = this.input!.write(request.consoleIn);
    const consoleOut = new Uint8Array(output.available());
    output.read(consoleOut);
    this.local.kick();
    this.publish();
    return {
      current: control.current(),
      waitReason: control.waitReason(),
      consumedUs: control.consumedTotal(),
      counters: this.counters.slice(),
      consoleInAccepted: accepted,
      consoleOut,
    };
  }

  /**
   * The machine's snapshot. RPCs run between slices (the loop yields to the
   * event loop between them), so the capture sees a machine at a slice
   * boundary; its run state does not change (a running VM goes on running
   * while the file is compressed).
   */
  async snapshot(): Promise<Uint8Array> {
    this.created();
    this.requireLive('snapshot');
    const machine = this.machine;
    if (!machine) throw new Error('cannot snapshot: there is no machine');
    if (!machine.snapshot) throw new Error("cannot snapshot: this VM's machine does not support snapshots");
    const file = await machine.snapshot();
    return transfer(file, [file.buffer]);
  }

  /**
   * Replaces the machine with one restored from a snapshot, keeping the run
   * state. The new machine is built while the old one stays in place (and
   * keeps running); it is swapped in between two slices only when it is
   * complete, so a bad file leaves the VM exactly as it was.
   */
  async restore(request: RestoreRequest): Promise<StateReport> {
    const control = this.created();
    this.requireLive('restore');
    const current = this.machine;
    if (!current) throw new Error('cannot restore: there is no machine');
    if (!current.restore) throw new Error("cannot restore: this VM's machine does not support snapshots");
    let memory: GuestMemoryResources | undefined;
    if (this.memory && current.pooledMemory) {
      if (!request.map) throw new Error('cannot restore: guest RAM is shared but no p2m storage came with the request');
      memory = { pool: this.memory.pool, map: new Int32Array(request.map) };
    }
    const restored = await current.restore(request.file, memory);
    if (this.machine !== current || this.fatal || this.report.state === 'stopped' || this.report.state === 'error') {
      // The VM was stopped, reset or crashed meanwhile: the restored machine has nowhere to go.
      restored.dispose?.();
      throw new Error(`cannot restore: the VM changed while the snapshot was read (it is ${this.report.state})`);
    }
    // Swap between two slices: the loop's burst returns after every await and picks up this.machine anew.
    restored.onConsoleOutput = (bytes) => this.queueOutput(bytes);
    if (this.report.state === 'paused') restored.pause?.();
    this.machine = restored;
    if (memory) this.memory = memory;
    try {
      current.dispose?.();
    } catch {
      // The old machine's release must not undo a finished restore.
    }
    control.bumpGeneration();
    this.counters[Counter.ResidentFrames] = restored.residentFrames();
    this.publish();
    // A halted sleep of the old machine ends now; the new one decides for itself.
    control.wake();
    this.local.kick();
    return this.report;
  }

  // ---- fatal errors from outside the loop ---------------------------------

  /**
   * The worker entry calls this for errors no handler caught (uncaught
   * exceptions, unhandled rejections): the VM is reported as crashed and its
   * loop ends; the coordinator then terminates the worker.
   */
  reportFatal(error: unknown): void {
    const { message, stack } = describeError(error);
    this.fatal = true;
    this.dropMachine();
    this.enter('error', StateReason.WorkerCrashed, stack ?? message);
    this.control?.wake();
    this.local.kick();
  }

  // ---- the loop ----------------------------------------------------------

  private requestRun(control: ControlBlock): void {
    control.request(RunRequest.Run);
    this.local.kick();
    this.loop ??= this.runLoop().finally(() => {
      this.loop = undefined;
    });
  }

  private async runLoop(): Promise<void> {
    const control = this.control!;
    try {
      for (;;) {
        if (this.fatal) return;
        const request = control.requested();
        if (request === RunRequest.Stop) {
          this.flushOutput();
          this.dropMachine();
          this.enter('stopped');
          this.publish();
          return;
        }
        if (request === RunRequest.Run && !this.hold) this.checkMemory();
        if (request !== RunRequest.Run || this.hold) {
          this.enter('paused', this.hold?.reason, this.hold?.detail);
          this.publish();
          await this.sleep(request, WaitReason.Paused, PAUSE_WAIT_MS, -1, () => request === RunRequest.Run && !this.hold);
          continue;
        }
        this.enter('running');
        if (await this.burst(control, this.machine!)) return;
      }
    } catch (error) {
      this.fail(error);
    }
  }

  /** Runs slices until something needs a sleep or a yield. Returns true when the guest ended. */
  private async burst(control: ControlBlock, machine: GuestMachine): Promise<boolean> {
    const end = this.now() + BURST_MS;
    for (;;) {
      if (control.requested() !== RunRequest.Run || this.hold || this.fatal) return false;
      this.pumpInput(machine);
      if (!this.flushOutput()) {
        await this.sleepForOutput();
        return false;
      }
      const balanceUs = control.balanceUs();
      if (balanceUs <= 0) {
        await this.sleep(RunRequest.Run, WaitReason.Tokens, TOKEN_WAIT_MS, Counter.ThrottledUs, () => control.balanceUs() > 0);
        return false;
      }
      const sliceMs = Math.min(MAX_SLICE_MS, balanceUs / 1000);
      const t0 = this.now();
      const result = machine.runSlice(this.maxInstructions(sliceMs), sliceMs);
      const t1 = this.now();
      this.account(control, machine, result, t1 - t0);
      if (result.stopped) {
        this.flushOutput();
        this.dropMachine();
        this.enter('stopped', result.stopped.reason);
        this.publish();
        return true;
      }
      if (result.outOfMemory) {
        // Only this VM asked for the frame that was not there: only it pauses.
        this.flushOutput();
        this.hold = { reason: StateReason.OutOfMemoryBudget, detail: result.outOfMemory.detail };
        this.publish();
        return false;
      }
      if (this.checkMemory()) {
        this.publish();
        return false;
      }
      if (result.halted) {
        this.flushOutput();
        const sleepMs = Math.min(Math.max(0, result.sleepMs), MAX_HALT_MS);
        if (sleepMs > 0) {
          await this.sleep(RunRequest.Run, WaitReason.Halted, sleepMs, Counter.HaltedUs, () => this.pumpInput(machine) > 0);
        }
        return false;
      }
      if (t1 >= end) {
        this.publish();
        await this.yieldNow();
        return false;
      }
    }
  }

  /** The machine whose jitInstructions() was last read, and what it said. */
  private jitCountedMachine: GuestMachine | undefined;
  private jitCounted = 0;

  private account(control: ControlBlock, machine: GuestMachine, result: SliceResult, elapsedMs: number): void {
    const us = elapsedMs * 1000 + this.usRemainder;
    const whole = Math.floor(us);
    this.usRemainder = us - whole;
    control.consume(whole);
    const c = this.counters;
    c[Counter.HostUsedUs]! += whole;
    c[Counter.Instructions]! += result.instructions;
    c[Counter.Slices]! += 1;
    c[Counter.ResidentFrames] = machine.residentFrames();
    if (machine.interruptsDelivered) c[Counter.Irqs] = machine.interruptsDelivered();
    if (machine.jitInstructions) {
      // The machine's count starts at 0 with every machine (restore, reset): add what it grew by.
      if (machine !== this.jitCountedMachine) { this.jitCountedMachine = machine; this.jitCounted = 0; }
      const jit = machine.jitInstructions();
      c[Counter.JitInstructions]! += Math.max(0, jit - this.jitCounted);
      this.jitCounted = jit;
    }
    if (elapsedMs > 0.05 && result.instructions > 0) this.instructionsPerMs = result.instructions / elapsedMs;
  }

  /** The instruction bound for a slice: twice what the last slices' rate predicts, so time normally ends it. */
  private maxInstructions(sliceMs: number): number {
    return Math.max(1000, Math.ceil(this.instructionsPerMs * sliceMs * 2));
  }

  /**
   * Sleeps until the wake word moves, `timeoutMs` passes, or (checked after
   * announcing the wait, so no wake-up is lost) the run request differs from
   * `expected` or `ready()` holds. Time asleep is added to `counter` (if >= 0).
   */
  private async sleep(expected: RunRequest, reason: WaitReason, timeoutMs: number, counter: Counter | -1, ready: () => boolean): Promise<void> {
    const control = this.control!;
    const seen = control.wakeSeq();
    control.setWaitReason(reason);
    try {
      if (control.requested() !== expected || this.fatal || ready()) return;
      this.publish();
      const t0 = this.now();
      await this.waitOn(control.wakeWord, seen, timeoutMs);
      if (counter >= 0) {
        this.counters[counter]! += (this.now() - t0) * 1000;
        this.publish();
      }
    } finally {
      control.setWaitReason(WaitReason.None);
    }
  }

  private async sleepForOutput(): Promise<void> {
    const control = this.control!;
    const output = this.output!;
    const word = output.spaceWord;
    const seen = Atomics.load(word.words, word.index);
    control.setWaitReason(WaitReason.Output);
    try {
      if (this.flushOutput()) return;
      this.publish();
      const t0 = this.now();
      await this.waitOn(word, seen, OUTPUT_WAIT_MS);
      this.counters[Counter.BackpressureUs]! += (this.now() - t0) * 1000;
      this.publish();
    } finally {
      control.setWaitReason(WaitReason.None);
    }
  }

  private async waitOn(word: WakeWord, seen: number, timeoutMs: number): Promise<unknown> {
    if (this.mode === 'message') return this.local.wait(timeoutMs);
    if (this.useWaitAsync) {
      const pending = waitAsyncOn(word, seen, timeoutMs);
      if (pending) return pending;
    }
    waitBlocking(word, seen, Math.min(timeoutMs, MAX_BLOCKING_MS));
    return this.yieldNow();
  }

  private waitMode(mode: ChannelMode): WaitMode {
    if (mode === 'message') return 'message';
    return this.useWaitAsync ? 'waitAsync' : 'blocking';
  }

  // ---- console -----------------------------------------------------------

  /** Offers pending console input to the machine's UART; returns the bytes it took. */
  private pumpInput(machine: GuestMachine): number {
    const input = this.input!;
    const n = input.peek(this.inputScratch);
    if (n === 0) return 0;
    const accepted = Math.max(0, Math.min(n, machine.consoleInput(this.inputScratch.subarray(0, n))));
    input.skip(accepted);
    this.counters[Counter.ConsoleInBytes]! += accepted;
    return accepted;
  }

  private queueOutput(bytes: Uint8Array): void {
    this.counters[Counter.ConsoleOutBytes]! += bytes.length;
    let rest = bytes;
    if (this.backlogBytes === 0) {
      const written = this.output!.write(rest);
      if (written === rest.length) return;
      rest = rest.subarray(written);
    }
    const room = OUTPUT_BACKLOG_MAX - this.backlogBytes;
    if (rest.length > room) {
      this.counters[Counter.ConsoleDroppedBytes]! += rest.length - room;
      rest = rest.subarray(0, room);
    }
    if (rest.length === 0) return;
    this.backlog.push(rest.slice());
    this.backlogBytes += rest.length;
  }

  /** Moves backlog into the ring; true when the backlog is below the high-water mark. */
  private flushOutput(): boolean {
    const output = this.output!;
    while (this.backlog.length > 0) {
      const chunk = this.backlog[0]!;
      const written = output.write(chunk);
      this.backlogBytes -= written;
      if (written < chunk.length) {
        this.backlog[0] = chunk.subarray(written);
        break;
      }
      this.backlog.shift();
    }
    return this.backlogBytes <= OUTPUT_HIGH_WATER;
  }

  // ---- machine, memory, state --------------------------------------------

  private async buildMachine(options: MachineFactoryOptions = {}): Promise<void> {
    const machine = await this.factory(this.config!, this.memory, { ...options, images: this.images });
    machine.onConsoleOutput = (bytes) => this.queueOutput(bytes);
    this.machine = machine;
    this.control!.bumpGeneration();
    this.counters[Counter.ResidentFrames] = machine.residentFrames();
  }

  private dropMachine(): void {
    const machine = this.machine;
    this.machine = undefined;
    this.counters[Counter.ResidentFrames] = 0;
    try {
      machine?.dispose?.();
    } catch {
      // Releasing a dead machine must not mask why it died.
    }
  }

  private overBudget(): boolean {
    const budget = this.control!.memoryBudgetFrames();
    return budget > 0 && this.machine !== undefined && this.machine.residentFrames() >= budget;
  }

  /** Holds the VM paused when it reached its budget; returns true if it did. */
  private checkMemory(): boolean {
    if (!this.overBudget()) return false;
    const frames = this.machine!.residentFrames();
    this.hold = {
      reason: StateReason.OutOfMemoryBudget,
      detail: `${frames} resident frames reached the budget of ${this.control!.memoryBudgetFrames()}`,
    };
    return true;
  }

  private fail(error: unknown): void {
    const { message, stack } = describeError(error);
    this.fatal = true;
    this.dropMachine();
    this.enter('error', message, stack);
    this.publish();
  }

  private enter(state: GuestRunState, reason?: string, detail?: string): void {
    if (this.report.state === state && this.report.reason === reason) return;
    // A paused VM's guest clock stands still (throttling does not pause it: real time goes on).
    if (state === 'paused' && this.report.state !== 'paused') this.machine?.pause?.();
    else if (state === 'running' && this.report.state === 'paused') this.machine?.resume?.();
    const report: StateReport = { seq: this.report.seq + 1, state };
    if (reason !== undefined) report.reason = reason;
    if (detail !== undefined) report.detail = detail;
    this.report = report;
    this.control?.setCurrent(WORKER_STATE[state]);
    if (this.events && this.config) {
      try {
        void Promise.resolve(this.events({ type: 'state', vmId: this.config.vmId, ...report })).catch(() => undefined);
      } catch {
        // The coordinator went away; nothing else to tell.
      }
    }
    const waiting = this.waiters;
    this.waiters = [];
    for (const waiter of waiting) {
      if (waiter.accept(report)) waiter.resolve(report);
      else this.waiters.push(waiter);
    }
  }

  /**
   * Resolves with the first report after `since` that `accept`s, or the
   * current one if it already `satisfied` the request. Terminal states
   * (stopped, error) always end the wait.
   */
  private awaitReport(since: number, accept: (r: StateReport) => boolean, satisfied: (r: StateReport) => boolean = () => false): Promise<StateReport> {
    const current = this.report;
    const final = (r: StateReport) => r.state === 'stopped' || r.state === 'error';
    if (satisfied(current) || (current.seq > since && (accept(current) || final(current)))) return Promise.resolve(current);
    if (final(current)) return Promise.resolve(current);
    return new Promise((resolve) => {
      this.waiters.push({ accept: (r) => accept(r) || final(r), resolve });
    });
  }

  private publish(): void {
    const control = this.control;
    if (!control) return;
    this.counters[Counter.UptimeUs] = (this.now() - this.startedAt) * 1000;
    control.publishCounters(this.counters);
  }

  private created(): ControlBlock {
    if (!this.control || !this.config) throw new Error('create() has not been called');
    return this.control;
  }

  private requireLive(operation: string): void {
    const state = this.report.state;
    if (state === 'stopped' || state === 'error') {
      throw new Error(`cannot ${operation}: the VM is ${state}${this.report.reason ? ` (${this.report.reason})` : ''}`);
    }
  }
}

/** Timer-based sleeps for the message fallback; `kick` ends them all early. */
class LocalWaiter {
  private pending: Array<() => void> = [];

  wait(timeoutMs: number): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        const i = this.pending.indexOf(done);
        if (i >= 0) this.pending.splice(i, 1);
        resolve();
      };
      const timer = setTimeout(done, Math.max(0, timeoutMs));
      this.pending.push(done);
    });
  }

  kick(): void {
    for (const done of this.pending.slice()) done();
  }
}

export function describeError(error: unknown): { message: string; stack: string | undefined } {
  if (error instanceof Error) return { message: error.message || error.name, stack: error.stack };
  return { message: String(error), stack: undefined };
}
