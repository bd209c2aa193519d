/**
 * The coordinator: the public face of the hypervisor for the UI, the CLI and
 * `window.tabvisor`. It owns the VM registry, one guest worker per active VM
 * (through a VmHost, so the same code runs in a tab and in Node), the CPU
 * scheduler, the memory policy, console channels and stats.
 *
 * Operations on one VM are serialized (a start, then a pause, never
 * interleaved); different VMs are independent, and a worker that fails only
 * turns its own VM into 'error'.
 *
 * State flows from the worker: it reports every run-loop state change (with a
 * per-worker sequence number so stale reports are dropped), and RPC replies
 * carry the same reports; the registry applies them through the lifecycle
 * table. The coordinator writes run requests and tokens into the control block
 * directly, so they take effect within one slice even before the RPC lands.
 */
import { proxy, wrap, type Remote } from 'comlink';
import { FramePool } from '../core/memory/frame-pool.ts';
import { ConsoleChannel, type ConsoleOutput } from './console-channel.ts';
import { Emitter, type Disposable, type Event } from './events.ts';
import type { HostWorker, VmHost } from './host/host.ts';
import { IllegalTransitionError, canTransition, isActive, type VmState } from './lifecycle.ts';
import { MemoryPolicy, mibToFrames, type MemoryUsage, type MemoryVerdict } from './memory-policy.ts';
import { CpuScheduler, type SchedulerTarget } from './scheduler.ts';
import { ControlBlock, Counter, RunRequest, type WaitReason, type WorkerState } from './shared/control-block.ts';
import {
  checkProtocolVersion,
  PROTOCOL_VERSION,
  StateReason,
  type ChannelMode,
  type CreateRequest,
  type PreloadedImage,
  type GuestEvent,
  type GuestWorkerApi,
  type StateReport,
  type WorkerStats,
} from './shared/protocol.ts';
import { SpscRing } from './shared/spsc-ring.ts';
import { VmStats, type StatsSample, type StatsSeries } from './stats.ts';
import { UnknownVmError, VmRegistry, type VmConfig, type VmConfigInput, type VmInfo, type VmStateChange } from './vm-registry.ts';

export interface CoordinatorOptions {
  /** Scheduling period. Default 50 ms. */
  periodMs?: number;
  /** Cores all guests may use together. Default: host cores minus the UI headroom. */
  cpuBudgetCores?: number;
  /**
   * Host frame-pool limit for all VMs together; 0 = none. Default 0. With
   * shared memory it is also the size reserved for the shared frame pool
   * (without a limit: DEFAULT_POOL_RESERVE_MIB), which setPoolLimitMiB cannot exceed.
   */
  poolLimitMiB?: number;
  /** Stats sampling interval. Default 250 ms (4 Hz). */
  statsIntervalMs?: number;
  /** Samples kept per VM. Default 240 (one minute at 4 Hz). */
  statsHistory?: number;
  /** Bytes per console ring (power of two). Default 64 KiB. */
  consoleRingBytes?: number;
  /** Console transcript kept per VM for read()/waitFor(). Default 1 Mi characters. */
  transcriptChars?: number;
  /** Default: 'shared' when the host can share memory, else 'message'. */
  channelMode?: ChannelMode;
  /** How long a worker may take to start and build its machine. Default 60 s. */
  startTimeoutMs?: number;
  /**
   * Bytes the page already holds behind an image URL (blob: URLs of checked
   * downloads): sent to the worker with its create request, which then does
   * not fetch them again (a fetch of a blob: URL took ~0.25 s in Chromium on
   * a busy 2-core machine). Default: none, the worker fetches.
   */
  imageBytes?: (url: string) => Uint8Array | undefined;
  /** How long other RPCs may take before the worker is considered hung. Default 10 s. */
  rpcTimeoutMs?: number;
  /**
   * A running or paused VM whose worker publishes nothing for this long is
   * declared crashed (browsers may kill a worker without any event; a live run
   * loop publishes at least once a second). Default 15 s.
   */
  hangTimeoutMs?: number;
  /**
   * Start one guest worker now, for the first VM to take: it loads its
   * script while the page downloads the VM's images, so the first VM starts
   * ~0.1 s sooner (the playground does this). Default false.
   */
  prewarmWorker?: boolean;
}

export interface VmStatsEvent {
  readonly id: string;
  readonly sample: StatsSample;
}

/** A worker call that failed because the worker died or hung. */
export class WorkerLostError extends Error {
  override name = 'WorkerLostError';
}

interface GuestLink {
  readonly worker: HostWorker;
  readonly remote: Remote<GuestWorkerApi>;
  readonly control: ControlBlock;
  readonly mode: ChannelMode;
  readonly input: SpscRing;
  readonly output: SpscRing;
  /** Rejects when the worker dies or is closed, so no call waits on a worker that cannot answer. */
  readonly lost: Promise<never>;
  readonly lose: (error: Error) => void;
  lastSeq: number;
  closing: Promise<void> | undefined;
  syncing: boolean;
  /** Watchdog: the worker's uptime counter when it last moved, and when that was (coordinator clock). */
  lastUptime: number;
  lastProgressAt: number;
  /** Shared guest RAM: the owner tag of the worker's pool attachment and the VM's p2m map (page -> frame). */
  pooled: { owner: number; map: Int32Array; used: boolean } | undefined;
}

/** What the shared frame pool holds right now (`poolStats`). */
export interface PoolStats {
  /** True when guest RAM comes from one shared pool; false in the fallback (private per-VM pools, figures from the workers' counters). */
  shared: boolean;
  /** Frames handed out to VMs (shared: including one scratch frame per VM). */
  usedFrames: number;
  /** Most frames VMs may hold together (0 = no limit in the fallback). */
  limitFrames: number;
  /** Host bytes backing the shared pool now (0 in the fallback). */
  hostBytes: number;
}

interface VmEntry {
  readonly id: string;
  readonly console: ConsoleChannel;
  readonly stats: VmStats;
  link: GuestLink | undefined;
  queue: Promise<unknown>;
  /** Why the coordinator paused it (a pause report from the worker carries no reason of its own). */
  pauseHint: { reason: string; detail?: string } | undefined;
  resetting: boolean;
}

const SYNC_INPUT_CHUNK = 4096;
/** How long a terminated browser worker is given to really stop before its leftover frames are reused. */
const BROWSER_TERMINATE_GRACE_MS = 1000;
/** Address space reserved for the shared frame pool when no pool limit is given. */
export const DEFAULT_POOL_RESERVE_MIB = 2048;

export class Coordinator implements Disposable {
  readonly host: VmHost;
  readonly channelMode: ChannelMode;
  private readonly registry = new VmRegistry();
  private readonly entries = new Map<string, VmEntry>();
  private readonly scheduler: CpuScheduler;
  private readonly memory: MemoryPolicy;
  private readonly statsEmitter = new Emitter<VmStatsEvent>();
  private readonly scratchCounters = ControlBlock.counterArray();
  private readonly syncScratch = new Uint8Array(SYNC_INPUT_CHUNK);
  private readonly options: Required<Omit<CoordinatorOptions, 'cpuBudgetCores' | 'channelMode' | 'prewarmWorker' | 'imageBytes'>>;
  private readonly imageBytes: ((url: string) => Uint8Array | undefined) | undefined;
  /** A worker started ahead of need (CoordinatorOptions.prewarmWorker), until a VM takes it. */
  private spareWorker: HostWorker | undefined;
  private statsTimer: ReturnType<typeof setInterval> | undefined;
  private disposed = false;
  /** The frame pool all guests share (created on the first start in shared mode); null: shared memory is unavailable. */
  private framePool: FramePool | null | undefined;

  readonly onStateChange: Event<VmStateChange> = this.registry.onStateChange;
  readonly onStats: Event<VmStatsEvent> = this.statsEmitter.event;

  constructor(host: VmHost, options: CoordinatorOptions = {}) {
    this.host = host;
    this.options = {
      periodMs: options.periodMs ?? 50,
      poolLimitMiB: options.poolLimitMiB ?? 0,
      statsIntervalMs: options.statsIntervalMs ?? 250,
      statsHistory: options.statsHistory ?? 240,
      consoleRingBytes: options.consoleRingBytes ?? 64 * 1024,
      transcriptChars: options.transcriptChars ?? 1 << 20,
      startTimeoutMs: options.startTimeoutMs ?? 60_000,
      rpcTimeoutMs: options.rpcTimeoutMs ?? 10_000,
      hangTimeoutMs: options.hangTimeoutMs ?? 15_000,
    };
    this.imageBytes = options.imageBytes;
    this.channelMode = options.channelMode ?? (host.sharedMemory ? 'shared' : 'message');
    const budgetCores = options.cpuBudgetCores ?? Math.max(0.25, host.cores - host.uiHeadroomCores);
    this.scheduler = new CpuScheduler({ periodMs: this.options.periodMs, budgetCores });
    this.memory = new MemoryPolicy(mibToFrames(this.options.poolLimitMiB));
    this.registry.onStateChange((change) => {
      if (change.to === 'stopped' || change.to === 'error') {
        this.entries.get(change.id)?.console.abortWaits(`the VM is ${change.to}${change.reason ? ` (${change.reason})` : ''}`);
      }
    });
    this.scheduler.start(() => this.schedulerTargets(), () => this.afterSchedulingTick());
    this.statsTimer = setInterval(() => this.sampleStats(), this.options.statsIntervalMs);
    if (options.prewarmWorker === true) this.spareWorker = host.spawnGuestWorker('tabvisor guest');
  }

  // ---- VMs ---------------------------------------------------------------

  createVm(config: VmConfigInput): VmInfo {
    this.assertLive();
    const info = this.registry.add(config);
    this.entries.set(info.id, {
      id: info.id,
      console: new ConsoleChannel(info.id, { transcriptLimit: this.options.transcriptChars }),
      stats: new VmStats(this.options.statsHistory),
      link: undefined,
      queue: Promise.resolve(),
      pauseHint: undefined,
      resetting: false,
    });
    return info;
  }

  list(): VmInfo[] {
    return this.registry.list();
  }

  get(id: string): VmInfo {
    return this.registry.get(id);
  }

  /**
   * Boots a VM that is created, stopped or failed, in a fresh worker. With
   * `fromSnapshot` (a `.tabvm` of a VM booted from the same images and RAM
   * size, e.g. the instant-boot snapshot) the new machine is restored from it
   * before its first instruction instead of running its kernel's boot; a file
   * that does not restore leaves the VM in 'error' with the reason.
   */
  start(id: string, fromSnapshot?: Uint8Array): Promise<void> {
    return this.serialize(id, async (entry) => {
      const state = this.registry.state(id);
      if (state !== 'created' && state !== 'stopped' && state !== 'error') {
        throw new IllegalTransitionError(id, state, 'starting', 'start');
      }
      this.registry.transition(id, 'starting');
      await this.launch(entry, fromSnapshot);
    });
  }

  pause(id: string): Promise<void> {
    return this.serialize(id, async (entry) => {
      if (this.registry.state(id) === 'paused') return;
      this.registry.check(id, 'paused', 'pause');
      const link = this.requireLink(entry, 'pause');
      link.control.request(RunRequest.Pause);
      this.applyReport(entry, link, await this.call(link, link.remote.pause()));
    });
  }

  /** Resumes a paused VM; rejects if it is still over its memory budget (raise it with setMemoryBudget). */
  resume(id: string): Promise<void> {
    return this.serialize(id, async (entry) => {
      if (this.registry.state(id) === 'running') return;
      this.registry.check(id, 'running', 'resume');
      const link = this.requireLink(entry, 'resume');
      entry.pauseHint = undefined;
      link.control.request(RunRequest.Run);
      if (link.mode === 'message') await this.syncLink(entry, link);
      const report = await this.call(link, link.remote.resume());
      this.applyReport(entry, link, report);
      if (report.state === 'paused') {
        link.control.request(RunRequest.Pause);
        throw new Error(`cannot resume ${id}: ${report.reason ?? 'it stayed paused'}${report.detail ? ` (${report.detail})` : ''}`);
      }
    });
  }

  /** Cold reboot: a running or paused VM reboots in its worker; a stopped or failed one in a new worker. */
  reset(id: string): Promise<void> {
    return this.serialize(id, async (entry) => {
      const state = this.registry.state(id);
      const link = entry.link;
      if ((state === 'running' || state === 'paused') && link) {
        this.registry.transition(id, 'starting');
        entry.pauseHint = undefined;
        entry.resetting = true;
        try {
          this.scheduler.admit(this.target(entry, link), this.schedulerTargets().length);
          this.applyReport(entry, link, await this.call(link, link.remote.reset(), this.options.startTimeoutMs));
        } catch (error) {
          this.failLink(entry, link, error);
        } finally {
          entry.resetting = false;
        }
        return;
      }
      if (state !== 'created' && state !== 'stopped' && state !== 'error') {
        throw new IllegalTransitionError(id, state, 'starting', 'reset');
      }
      this.registry.transition(id, 'starting');
      await this.launch(entry);
    });
  }

  stop(id: string): Promise<void> {
    return this.serialize(id, (entry) => this.stopNow(entry));
  }

  /** Stops the VM if needed and forgets it. */
  deleteVm(id: string): Promise<void> {
    return this.serialize(id, async (entry) => {
      if (isActive(this.registry.state(id))) await this.stopNow(entry);
      this.registry.check(id, 'deleted', 'delete');
      this.registry.transition(id, 'deleted');
      entry.console.dispose();
      this.entries.delete(id);
      this.scheduler.forget(id);
      this.memory.forget(id);
    });
  }

  // ---- snapshots -------------------------------------------------------------

  /**
   * A `.tabvm` snapshot of a running or paused VM (src/core/snapshot). The
   * VM keeps its state: a running VM pauses only for the copy of its state
   * and RAM (~10 ms) and runs on while the file is compressed.
   */
  snapshot(id: string): Promise<Uint8Array> {
    return this.serialize(id, async (entry) => {
      const link = this.requireSnapshotLink(entry, 'snapshot');
      return this.call(link, link.remote.snapshot(), this.options.startTimeoutMs);
    });
  }

  /**
   * Puts a running or paused VM back to a snapshot (of a VM booted from the
   * same images). The VM keeps its state (running stays running, paused
   * stays paused). A file that cannot be restored rejects with the reason and
   * leaves the VM as it was; other VMs are never affected. `file` is copied,
   * so the caller may restore it again.
   */
  restore(id: string, file: Uint8Array): Promise<void> {
    return this.serialize(id, async (entry) => {
      const link = this.requireSnapshotLink(entry, 'restore');
      await this.restoreInto(link, entry, file);
    });
  }

  /**
   * A new VM restored from a snapshot: of VM `source` (taken now) or a
   * `.tabvm` file. `config` must name the images the snapshot was booted
   * from (for a VM snapshot, the default is the source's config); the new VM
   * boots those images, is restored before its first instruction and then
   * runs from the snapshot's state. A bad file leaves the new VM in 'error'
   * with the reason (and rejects).
   */
  async clone(source: string | Uint8Array, config: Partial<VmConfig> = {}): Promise<VmInfo> {
    let file: Uint8Array;
    let base: VmConfigInput;
    if (typeof source === 'string') {
      const { config: sourceConfig } = this.registry.get(source);
      file = await this.snapshot(source);
      base = { ...sourceConfig, name: `${sourceConfig.name} (clone)`, ...config };
    } else {
      const image = config.image;
      if (!image) throw new Error('a clone from a snapshot file needs the config of the VM it was taken of (at least its image and RAM size)');
      file = source;
      base = { ...config, image };
    }
    const info = this.createVm(base);
    await this.serialize(info.id, async (entry) => {
      this.registry.transition(info.id, 'starting');
      await this.launch(entry, file);
    });
    const after = this.registry.get(info.id);
    if (after.state === 'error') throw new Error(`clone ${info.id} failed: ${after.reason ?? 'unknown error'}`);
    return after;
  }

  /** Changes the CPU share; takes effect at the next scheduling period. */
  setCpu(id: string, cpu: { weight?: number; capPercent?: number }): VmInfo {
    const patch: Partial<VmConfig> = {};
    if (cpu.weight !== undefined) patch.cpuWeight = cpu.weight;
    if (cpu.capPercent !== undefined) patch.cpuCapPercent = cpu.capPercent;
    return this.registry.update(id, patch);
  }

  /** Changes the resident-memory budget (then `resume` a VM paused for memory). */
  setMemoryBudget(id: string, mib: number): VmInfo {
    const info = this.registry.update(id, { memoryBudgetMiB: mib });
    this.entry(id).link?.control.setMemoryBudgetFrames(mibToFrames(mib));
    return info;
  }

  // ---- console -----------------------------------------------------------

  /** Types `text` into the VM's serial console; resolves once the worker has all of it. */
  send(id: string, text: string | Uint8Array): Promise<void> {
    const entry = this.entry(id);
    const state = this.registry.state(id);
    if (!isActive(state)) return Promise.reject(new Error(`cannot send to ${id}: it is ${state}`));
    return entry.console.send(text);
  }

  /** Console output since the previous read(id). */
  read(id: string): string {
    return this.entry(id).console.read();
  }

  /** Everything the console kept (bounded). */
  transcript(id: string): string {
    return this.entry(id).console.transcript();
  }

  /** Waits for console output matching `pattern` (expect-style, see ConsoleChannel.waitFor). */
  waitFor(id: string, pattern: RegExp, timeoutMs = 30_000): Promise<RegExpExecArray> {
    return this.entry(id).console.waitFor(pattern, timeoutMs);
  }

  onConsoleOutput(id: string, listener: (output: ConsoleOutput) => void): Disposable {
    return this.entry(id).console.onOutput(listener);
  }

  // ---- stats -------------------------------------------------------------

  /** The VM's sampled history (chronological copies). */
  stats(id: string): StatsSeries {
    return this.entry(id).stats.series();
  }

  latestStats(id: string): StatsSample | undefined {
    return this.entry(id).stats.latest();
  }

  /** The live cumulative counters of the VM's current worker (indexed by Counter), or undefined without one. */
  counters(id: string): Float64Array | undefined {
    const link = this.entry(id).link;
    if (!link) return undefined;
    const out = ControlBlock.counterArray();
    link.control.readCounters(out);
    return out;
  }

  /** Asks the worker for its own view (includes Node's event-loop utilization). */
  async workerStats(id: string): Promise<WorkerStats> {
    const entry = this.entry(id);
    const link = this.requireLink(entry, 'query');
    return this.call(link, link.remote.stats());
  }

  get cpuBudgetCores(): number {
    return this.scheduler.budget;
  }

  setCpuBudgetCores(cores: number): void {
    this.scheduler.setBudgetCores(cores);
  }

  setPoolLimitMiB(mib: number): void {
    this.memory.setPoolLimitFrames(mibToFrames(mib));
    if (this.framePool) this.framePool.setLimitFrames(mib > 0 ? mibToFrames(mib) + 1 : this.framePool.reservedFrames);
  }

  // ---- guest memory ----------------------------------------------------------

  /**
   * The VM's live p2m map (guest page -> pool frame; 0 = no frame yet, -1 =
   * MMIO, <= -2 = lazily restored from a snapshot), when its RAM comes from
   * the shared pool. A view of memory the worker writes: copy it for a stable picture.
   */
  memoryMap(id: string): Int32Array | undefined {
    const pooled = this.entry(id).link?.pooled;
    return pooled?.used ? pooled.map : undefined;
  }

  /** Frames the VM holds: counted in its map when shared, else its worker's last published count. */
  residentFrames(id: string): number {
    const map = this.memoryMap(id);
    if (map) {
      let n = 0;
      for (let i = 0; i < map.length; i++) if (map[i]! > 0) n++;
      return n;
    }
    const counters = this.counters(id);
    return counters ? counters[Counter.ResidentFrames]! : 0;
  }

  poolStats(): PoolStats {
    const pool = this.framePool;
    if (pool) return { shared: true, usedFrames: pool.allocatedFrames, limitFrames: pool.limitFrames - 1, hostBytes: pool.hostBytes };
    let used = 0;
    for (const entry of this.entries.values()) {
      if (!entry.link) continue;
      entry.link.control.readCounters(this.scratchCounters);
      used += this.scratchCounters[Counter.ResidentFrames]!;
    }
    return { shared: false, usedFrames: used, limitFrames: this.memory.poolLimit, hostBytes: 0 };
  }

  /** The shared frame pool, created on first use; undefined when memory cannot be shared (each worker then has a private pool). */
  private sharedPool(): FramePool | undefined {
    if (this.framePool === undefined) {
      this.framePool = null;
      if (this.channelMode === 'shared') {
        const limitMiB = this.options.poolLimitMiB;
        try {
          this.framePool = FramePool.createShared({ limitFrames: mibToFrames(limitMiB > 0 ? limitMiB : DEFAULT_POOL_RESERVE_MIB) + 1, initialFrames: 1024 });
        } catch {
          // No shared WebAssembly memory here: private per-VM pools, as in the non-isolated fallback.
        }
      }
    }
    return this.framePool ?? undefined;
  }

  // ---- teardown ------------------------------------------------------------

  /** Terminates every worker and releases everything the coordinator created. */
  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    this.scheduler.stop();
    if (this.statsTimer !== undefined) clearInterval(this.statsTimer);
    const closing: Promise<void>[] = [];
    if (this.spareWorker) closing.push(this.spareWorker.terminate());
    this.spareWorker = undefined;
    for (const entry of this.entries.values()) {
      if (entry.link) closing.push(this.closeLink(entry, entry.link));
      entry.console.dispose();
    }
    await Promise.all(closing);
    this.entries.clear();
    this.statsEmitter.dispose();
    this.registry.dispose();
  }

  // ---- workers -------------------------------------------------------------

  /** `restoreFrom`: a snapshot the new machine is restored from before it boots (clone). */
  private async launch(entry: VmEntry, restoreFrom?: Uint8Array): Promise<void> {
    const link = this.openLink(entry);
    try {
      const hello = await this.call(link, link.remote.hello(), this.options.startTimeoutMs);
      checkProtocolVersion(hello.protocolVersion, `the guest worker of ${entry.id}`);
      const { config } = this.registry.get(entry.id);
      const sink = (event: GuestEvent): void => this.applyReport(entry, link, event);
      const request: CreateRequest = {
        protocolVersion: PROTOCOL_VERSION,
        config: { vmId: entry.id, name: config.name, ramMiB: config.ramMiB, image: config.image, jit: config.jit },
        channels: { mode: link.mode, control: link.control.buffer, consoleIn: link.input.buffer, consoleOut: link.output.buffer },
      };
      if (restoreFrom) request.restoreFollows = true;
      const images = this.preloadedImages(config.image);
      if (images.length > 0) request.images = images;
      const pool = this.sharedPool();
      if (pool) {
        const handle = pool.share();
        const map = new SharedArrayBuffer(mibToFrames(config.ramMiB) * 4);
        link.pooled = { owner: handle.owner, map: new Int32Array(map), used: false };
        request.memory = { pool: handle, map };
      }
      const created = await this.call(link, link.remote.create(request, proxy(sink)), this.options.startTimeoutMs);
      if (link.pooled && created.pooledMemory) link.pooled.used = true;
      link.control.setMemoryBudgetFrames(mibToFrames(config.memoryBudgetMiB));
      if (restoreFrom) await this.restoreInto(link, entry, restoreFrom);
      this.scheduler.admit(this.target(entry, link), this.schedulerTargets().length);
      link.control.request(RunRequest.Run);
      if (link.mode === 'message') await this.syncLink(entry, link);
      this.applyReport(entry, link, await this.call(link, link.remote.boot()));
    } catch (error) {
      this.failLink(entry, link, error);
    }
  }

  private openLink(entry: VmEntry): GuestLink {
    const shared = this.channelMode === 'shared';
    const control = ControlBlock.create(shared);
    const input = SpscRing.create(this.options.consoleRingBytes, shared, shared ? { consumerWake: control.wakeWord } : {});
    const output = SpscRing.create(this.options.consoleRingBytes, shared);
    const worker = this.spareWorker ?? this.host.spawnGuestWorker(`tabvisor ${entry.id}`);
    this.spareWorker = undefined;
    let lose: (error: Error) => void = () => undefined;
    const lost = new Promise<never>((_, reject) => {
      lose = reject;
    });
    lost.catch(() => undefined);
    const link: GuestLink = {
      worker,
      remote: wrap<GuestWorkerApi>(worker.endpoint),
      control,
      mode: this.channelMode,
      input,
      output,
      lost,
      lose,
      lastSeq: 0,
      closing: undefined,
      syncing: false,
      lastUptime: -1,
      lastProgressAt: performance.now(),
      pooled: undefined,
    };
    worker.onFailure((detail) => this.workerLost(entry, link, detail));
    entry.link = link;
    entry.stats.rebase();
    entry.console.attach(output, input, shared);
    return link;
  }

  /**
   * Restores `file` in the link's worker. With shared RAM the restored
   * machine gets a fresh p2m map, which becomes the VM's map on success (the
   * old machine zeroed the old one when it was released).
   */
  private async restoreInto(link: GuestLink, entry: VmEntry, file: Uint8Array): Promise<void> {
    const pooled = link.pooled?.used ? link.pooled : undefined;
    const map = pooled ? new SharedArrayBuffer(pooled.map.byteLength) : undefined;
    const report = await this.call(link, link.remote.restore(map ? { file, map } : { file }), this.options.startTimeoutMs);
    if (pooled && map) pooled.map = new Int32Array(map);
    this.applyReport(entry, link, report);
  }

  /** Terminates the link's worker (once) and detaches it from the VM. */
  private closeLink(entry: VmEntry, link: GuestLink): Promise<void> {
    if (link.closing) return link.closing;
    if (entry.link === link) {
      entry.console.detach();
      entry.link = undefined;
    }
    this.scheduler.forget(entry.id);
    this.memory.forget(entry.id);
    link.lose(new WorkerLostError(`${entry.id}: the guest worker was closed`));
    link.closing = link.worker
      .terminate()
      .catch(() => undefined)
      .then(() => this.reclaimFrames(link));
    return link.closing;
  }

  /**
   * After the worker is gone: frames it still held (it died or hung before
   * releasing its machine) go back to the shared pool, zeroed, so no other VM
   * loses anything and none sees this VM's data. A worker that stopped
   * cleanly released them itself and left nothing.
   */
  private async reclaimFrames(link: GuestLink): Promise<void> {
    const pooled = link.pooled;
    const pool = this.framePool;
    if (!pooled || !pool) return;
    if (pool.framesOwnedBy(pooled.owner) > 0) {
      // Node's terminate() resolves once the thread is gone; a browser's returns at once and
      // the worker may run a little longer, so give it time to stop before anyone reuses its frames.
      if (this.host.kind === 'browser') await new Promise((resolve) => setTimeout(resolve, BROWSER_TERMINATE_GRACE_MS));
      pool.reclaimOwner(pooled.owner);
    }
    pooled.map.fill(0);
  }

  /** The worker died or stopped responding: only its VM becomes 'error: worker crashed'. */
  private workerLost(entry: VmEntry, link: GuestLink, detail: string): void {
    link.lose(new WorkerLostError(`${entry.id}: ${StateReason.WorkerCrashed}: ${detail}`));
    if (entry.link !== link || link.closing) return;
    this.move(entry, 'error', StateReason.WorkerCrashed, detail);
    void this.closeLink(entry, link);
  }

  /** A start/reset step failed: the VM goes to 'error' with the message, its worker is dropped. */
  private failLink(entry: VmEntry, link: GuestLink, error: unknown): void {
    if (entry.link !== link || link.closing) return;
    const message = error instanceof Error ? error.message : String(error);
    this.move(entry, 'error', message, error instanceof Error ? error.stack : undefined);
    void this.closeLink(entry, link);
  }

  private async stopNow(entry: VmEntry): Promise<void> {
    const id = entry.id;
    const state = this.registry.state(id);
    if (state === 'stopped') return;
    if (state === 'created') throw new IllegalTransitionError(id, state, 'stopped', 'stop');
    const link = entry.link;
    if (link) {
      link.control.request(RunRequest.Stop);
      try {
        if (link.mode === 'message') await this.syncLink(entry, link);
        this.applyReport(entry, link, await this.call(link, link.remote.stop()));
      } catch {
        // A hung or dead worker is stopped by terminating it.
      }
      await this.closeLink(entry, link);
    }
    const now = this.registry.state(id);
    if (now !== 'stopped' && canTransition(now, 'stopped')) this.registry.transition(id, 'stopped');
  }

  /** Applies a state report from the link's worker (event or RPC reply), dropping stale ones. */
  private applyReport(entry: VmEntry, link: GuestLink, report: StateReport): void {
    if (entry.link !== link || link.closing || report.seq <= link.lastSeq) return;
    link.lastSeq = report.seq;
    switch (report.state) {
      case 'idle':
        return;
      case 'running':
        entry.pauseHint = undefined;
        this.move(entry, 'running');
        return;
      case 'paused': {
        if (entry.resetting && report.reason === undefined) return;
        const why = report.reason !== undefined ? { reason: report.reason, detail: report.detail } : entry.pauseHint;
        this.move(entry, 'paused', why?.reason, why?.detail);
        return;
      }
      case 'stopped':
      case 'error':
        this.move(entry, report.state, report.reason ?? (report.state === 'error' ? 'unknown error' : undefined), report.detail);
        void this.closeLink(entry, link);
        return;
    }
  }

  /** Moves the VM if the lifecycle allows it; reports that arrive after a VM moved on are ignored. */
  private move(entry: VmEntry, to: VmState, reason?: string, detail?: string): void {
    if (!this.registry.has(entry.id)) return;
    const from = this.registry.state(entry.id);
    if (from === to || canTransition(from, to)) this.registry.transition(entry.id, to, reason, detail);
  }

  /** Races a worker call against the worker's death and a timeout. */
  private call<T>(link: GuestLink, pending: Promise<T>, timeoutMs = this.options.rpcTimeoutMs): Promise<T> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new WorkerLostError(`the guest worker did not answer within ${timeoutMs} ms`)), timeoutMs);
    });
    return Promise.race([pending, link.lost, timeout]).finally(() => clearTimeout(timer));
  }

  // ---- periodic work -------------------------------------------------------

  private target(entry: VmEntry, link: GuestLink): SchedulerTarget {
    const { config } = this.registry.get(entry.id);
    return { id: entry.id, weight: config.cpuWeight, capPercent: config.cpuCapPercent, control: link.control };
  }

  private schedulerTargets(): SchedulerTarget[] {
    const targets: SchedulerTarget[] = [];
    for (const entry of this.entries.values()) {
      const link = entry.link;
      if (!link || link.closing) continue;
      const state = this.registry.state(entry.id);
      if (state === 'running' || state === 'starting') targets.push(this.target(entry, link));
    }
    return targets;
  }

  private afterSchedulingTick(): void {
    this.enforceMemory();
    this.watchForHangs();
    for (const entry of this.entries.values()) {
      const link = entry.link;
      if (link && link.mode === 'message' && !link.closing) void this.syncLink(entry, link);
    }
  }

  private enforceMemory(): void {
    const usages: MemoryUsage[] = [];
    for (const entry of this.entries.values()) {
      const link = entry.link;
      if (!link || link.closing) continue;
      const { state, config } = this.registry.get(entry.id);
      link.control.readCounters(this.scratchCounters);
      usages.push({
        id: entry.id,
        residentFrames: this.scratchCounters[Counter.ResidentFrames]!,
        budgetFrames: mibToFrames(config.memoryBudgetMiB),
        running: state === 'running',
        pooled: link.pooled?.used ?? false,
      });
    }
    for (const verdict of this.memory.evaluate(usages, this.framePool?.allocatedFrames ?? 0)) this.pauseForMemory(verdict);
  }

  private watchForHangs(): void {
    const now = performance.now();
    for (const entry of this.entries.values()) {
      const link = entry.link;
      if (!link || link.closing) continue;
      const state = this.registry.state(entry.id);
      link.control.readCounters(this.scratchCounters);
      const uptime = this.scratchCounters[Counter.UptimeUs]!;
      if (uptime !== link.lastUptime || (state !== 'running' && state !== 'paused')) {
        link.lastUptime = uptime;
        link.lastProgressAt = now;
      } else if (now - link.lastProgressAt > this.options.hangTimeoutMs) {
        this.workerLost(entry, link, `the guest worker stopped responding (nothing published for ${Math.round(now - link.lastProgressAt)} ms)`);
      }
    }
  }

  private pauseForMemory(verdict: MemoryVerdict): void {
    const entry = this.entries.get(verdict.id);
    const link = entry?.link;
    if (!entry || !link) return;
    entry.pauseHint = { reason: verdict.reason, detail: verdict.detail };
    // Effective within one slice; the RPC below only confirms it.
    link.control.request(RunRequest.Pause);
    void this.serialize(entry.id, async () => {
      if (entry.link !== link || this.registry.state(entry.id) !== 'running') return;
      this.applyReport(entry, link, await this.call(link, link.remote.pause()));
    }).catch(() => undefined);
  }

  /** Message fallback: exchanges the control block halves, console input and output with the worker. */
  private async syncLink(entry: VmEntry, link: GuestLink): Promise<void> {
    if (link.syncing || link.closing) return;
    link.syncing = true;
    try {
      const control = link.control;
      const n = link.input.peek(this.syncScratch);
      const response = await this.call(
        link,
        link.remote.sync({
          requested: control.requested(),
          grantedUs: control.grantedTotal(),
          memoryBudgetFrames: control.memoryBudgetFrames(),
          consoleIn: this.syncScratch.slice(0, n),
        }),
      );
      if (link.closing) return;
      link.input.skip(response.consoleInAccepted);
      control.setConsumedTotal(response.consumedUs);
      control.setCurrent(response.current as WorkerState);
      control.setWaitReason(response.waitReason as WaitReason);
      control.publishCounters(response.counters);
      entry.console.deliverBytes(response.consoleOut);
    } catch {
      // A dead worker is reported through its failure path.
    } finally {
      link.syncing = false;
    }
  }

  private sampleStats(): void {
    const now = performance.now();
    for (const entry of this.entries.values()) {
      const link = entry.link;
      if (!link || link.closing) continue;
      link.control.readCounters(this.scratchCounters);
      const sample = entry.stats.sample(this.scratchCounters, now);
      if (sample) this.statsEmitter.fire({ id: entry.id, sample });
    }
  }

  // ---- helpers -------------------------------------------------------------

  /** The image files of `image` whose bytes the page holds (CoordinatorOptions.imageBytes). */
  private preloadedImages(image: VmConfig['image']): PreloadedImage[] {
    const lookup = this.imageBytes;
    if (!lookup || image.kind !== 'linux') return [];
    const images: PreloadedImage[] = [];
    for (const url of [image.kernelUrl, image.initrdUrl]) {
      if (url === undefined) continue;
      const bytes = lookup(url);
      if (bytes) images.push({ url, bytes });
    }
    return images;
  }

  private serialize<T>(id: string, operation: (entry: VmEntry) => Promise<T>): Promise<T> {
    this.assertLive();
    const entry = this.entry(id);
    const run = entry.queue.then(() => operation(entry));
    entry.queue = run.catch(() => undefined);
    return run;
  }

  private entry(id: string): VmEntry {
    const entry = this.entries.get(id);
    if (!entry) throw new UnknownVmError(id);
    return entry;
  }

  private requireLink(entry: VmEntry, action: string): GuestLink {
    const link = entry.link;
    if (!link || link.closing) throw new Error(`cannot ${action} ${entry.id}: it has no running worker (it is ${this.registry.state(entry.id)})`);
    return link;
  }

  private requireSnapshotLink(entry: VmEntry, action: string): GuestLink {
    const state = this.registry.state(entry.id);
    if (state !== 'running' && state !== 'paused') throw new Error(`cannot ${action} ${entry.id}: it is ${state} (only a running or paused VM can)`);
    return this.requireLink(entry, action);
  }

  private assertLive(): void {
    if (this.disposed) throw new Error('the coordinator has been disposed');
  }
}
