/**
 * The typed, versioned RPC protocol between the coordinator and a guest worker
 * (carried by comlink). Hot-path traffic does not use it: run requests, CPU
 * tokens and counters live in the control block, console bytes in the rings.
 * RPCs are for things that happen a few times per VM lifetime, and for the
 * non-isolated fallback (`sync`), where no memory can be shared.
 *
 * Versioning: the coordinator calls `hello()` first and refuses a worker that
 * speaks another PROTOCOL_VERSION; the worker refuses a `create` that carries
 * another version. Bump PROTOCOL_VERSION on any incompatible change to a
 * message below or to the control block / ring layouts.
 *
 * History: 1 = the first release; 2 = `snapshot()` and `restore()` (machine
 * snapshots, the `.tabvm` format of src/core/snapshot).
 */

export const PROTOCOL_VERSION = 2;

export class ProtocolVersionError extends Error {
  override name = 'ProtocolVersionError';
}

/** Throws a ProtocolVersionError unless `theirs` equals PROTOCOL_VERSION. */
export function checkProtocolVersion(theirs: unknown, peer: string): void {
  if (theirs !== PROTOCOL_VERSION) {
    throw new ProtocolVersionError(
      `worker protocol mismatch: ${peer} speaks version ${String(theirs)}, this side speaks version ${PROTOCOL_VERSION}` +
        ' (stale cached worker script? reload the page)',
    );
  }
}

/**
 * A stand-in guest used until the x86 Machine is integrated, and by the
 * scheduler tests: it models CPU demand, halting, memory growth, console
 * echo and the ways a guest can end.
 */
export interface SyntheticSpec {
  /** busy: never halts; idle: halts every slice for `sleepMs`. Both echo console input. */
  behaviour: 'busy' | 'idle';
  /** Idle guests: time until the next (simulated) timer interrupt. Default 10 ms. */
  sleepMs?: number;
  /** Printed on the console when the machine is built. */
  banner?: string;
  /** Resident frames at boot. Default 16. */
  initialFrames?: number;
  /** Resident frames gained per ms of guest run time. Default 0. */
  framesPerMs?: number;
  /** The guest stops itself (like poweroff or a triple fault) after this much run time. */
  stopAfterMs?: number;
  /** Reason reported with `stopAfterMs`. Default 'guest powered off'. */
  stopReason?: string;
  /** runSlice throws after this much run time (an engine bug). */
  throwAfterMs?: number;
  /** Throws from a timer outside any handler (an uncaught error in the worker). */
  uncaughtAfterMs?: number;
  /** runSlice never returns (a hung engine): the coordinator's watchdog must notice. */
  hangAfterMs?: number;
}

export type ImageSpec =
  | { kind: 'synthetic'; synthetic: SyntheticSpec }
  /** The default x86 guest; served once src/core/machine.ts exists. */
  | {
    kind: 'linux'; kernelUrl: string; initrdUrl?: string; cmdline?: string;
    /**
     * Lower-case hex SHA-256 of the kernel / initrd, where whoever published
     * the URLs has verified the bytes behind them (the page checks downloads
     * against the image manifest); the worker hashes what it loads otherwise.
     */
    kernelSha256?: string; initrdSha256?: string;
    /**
     * The URLs are the server's, not checked yet, and the digests are the
     * image manifest's: a VM that a snapshot replaces at once (instant boot,
     * share links) loads them only when it first needs them (a boot after a
     * restore that failed, a reboot) and checks them then.
     */
    lazy?: boolean;
  };

/** What the worker needs to build a machine. */
export interface GuestConfig {
  vmId: string;
  name: string;
  ramMiB: number;
  image: ImageSpec;
  /** Compile hot guest code to WebAssembly (src/core/jit). */
  jit?: boolean;
}

/**
 * 'shared': the buffers are SharedArrayBuffers, both sides use them directly.
 * 'message': plain ArrayBuffers; each side keeps its own copy and `sync`
 * carries the coordinator's writes to the worker and the worker's back.
 */
export type ChannelMode = 'shared' | 'message';

export interface GuestChannels {
  mode: ChannelMode;
  /** ControlBlock buffer. */
  control: ArrayBuffer | SharedArrayBuffer;
  /** Coordinator -> worker (serial console RX). */
  consoleIn: ArrayBuffer | SharedArrayBuffer;
  /** Worker -> coordinator (serial console TX). */
  consoleOut: ArrayBuffer | SharedArrayBuffer;
}

export interface HelloResponse {
  protocolVersion: number;
  /** Which wait primitive the worker will sleep with, for diagnostics. */
  waitMode: WaitMode;
}

export type WaitMode = 'waitAsync' | 'blocking' | 'message';

/**
 * Shared guest RAM (cross-origin isolated pages and Node): the coordinator's
 * frame pool and this VM's p2m map. Without it (the non-isolated fallback)
 * the worker builds its machine on a private pool.
 */
export interface GuestMemoryChannel {
  /** A FramePool handle (src/core/memory/frame-pool.ts SharedFramePoolHandle): attach with FramePool.attachShared. */
  pool: { memory: WebAssembly.Memory; control: SharedArrayBuffer; owner: number };
  /** Int32 per guest page (page -> frame, 0 = none): the storage of the VM's p2m map, which the coordinator reads. */
  map: SharedArrayBuffer;
}

export interface CreateRequest {
  protocolVersion: number;
  config: GuestConfig;
  channels: GuestChannels;
  /** Present when guest RAM comes from the coordinator's shared frame pool. */
  memory?: GuestMemoryChannel;
  /**
   * A restore replaces the machine before it runs (instant boot, clones):
   * the machine may leave loading its boot images until its first slice,
   * which then never comes. Optional: older coordinators do not send it.
   */
  restoreFollows?: boolean;
  /**
   * The bytes behind some of config.image's URLs, which the coordinator
   * already holds (the page downloaded and checked them): the worker uses
   * them instead of fetching those URLs, for this machine and any it builds
   * later (reset, reboot). Optional: without it the worker fetches.
   */
  images?: PreloadedImage[];
}

/** One image file the coordinator hands to the worker with CreateRequest. */
export interface PreloadedImage {
  url: string;
  bytes: Uint8Array;
}

export interface CreateResponse {
  vmId: string;
  waitMode: WaitMode;
  /** The machine takes its RAM from the shared frame pool of CreateRequest.memory (the pool enforces its limit itself). */
  pooledMemory?: boolean;
}

/** Reasons that the coordinator and the UI match on (other reasons are free text from the guest or engine). */
export const StateReason = {
  /** The VM reached its memory budget or the host pool ran out while it grew. */
  OutOfMemoryBudget: 'out of memory budget',
  /** The worker died or threw outside any handler; only this VM is affected. */
  WorkerCrashed: 'worker crashed',
} as const;

/** The worker run loop's state as reported over RPC and events. */
export type GuestRunState = 'idle' | 'running' | 'paused' | 'stopped' | 'error';

/** A state report. `seq` increases with every report from one worker so stale ones can be dropped. */
export interface StateReport {
  seq: number;
  state: GuestRunState;
  /** Why, when the guest or the worker caused it (e.g. 'out of memory budget', 'triple fault'). */
  reason?: string;
  /** More detail for humans (stack, numbers). */
  detail?: string;
}

export type GuestEvent = { type: 'state'; vmId: string } & StateReport;

/** The coordinator's callback, passed through comlink.proxy. The worker never awaits it. */
export type GuestEventSink = (event: GuestEvent) => void | Promise<void>;

export interface WorkerStats {
  /** Counter values indexed by `Counter` (control-block.ts). */
  counters: Float64Array;
  /** Node only: the worker thread's cumulative event-loop times (ms). Counts wall time, so it overstates CPU on a loaded host. */
  eventLoop?: { activeMs: number; idleMs: number };
  /** The worker thread's own cumulative CPU time (ms), where the OS exposes it (Linux: /proc/thread-self/schedstat). */
  threadCpuMs?: number;
}

/** Message mode: the coordinator's side of the control block plus console input. */
export interface SyncRequest {
  requested: number;
  grantedUs: number;
  memoryBudgetFrames: number;
  consoleIn: Uint8Array;
}

/** Message mode: the worker's side of the control block plus how much input it took. */
export interface SyncResponse {
  current: number;
  waitReason: number;
  consumedUs: number;
  counters: Float64Array;
  /** Bytes of `consoleIn` that fitted into the worker's ring; the rest must be re-sent. */
  consoleInAccepted: number;
  /** Console output drained from the worker's ring since the last sync. */
  consoleOut: Uint8Array;
}

/** What a guest worker exposes (every method may reject with an Error carrying a clear message). */
export interface GuestWorkerApi {
  hello(): Promise<HelloResponse>;
  /** Builds the machine (loads the image); the VM does not run until `boot`. */
  create(request: CreateRequest, events: GuestEventSink): Promise<CreateResponse>;
  /** Starts the run loop; resolves when it runs (or reports why it could not). */
  boot(): Promise<StateReport>;
  pause(): Promise<StateReport>;
  resume(): Promise<StateReport>;
  /** Rebuilds the machine from its config (a cold reboot); keeps the run state. */
  reset(): Promise<StateReport>;
  /** Ends the run loop and drops the machine; the worker may then be terminated. */
  stop(): Promise<StateReport>;
  stats(): Promise<WorkerStats>;
  /** Message mode only (see SyncRequest). */
  sync(request: SyncRequest): Promise<SyncResponse>;
  /**
   * Since version 2. A `.tabvm` snapshot of the machine, taken between two
   * slices; the VM keeps its run state (a running VM runs on while the file
   * is compressed). The bytes are transferred, not copied.
   */
  snapshot(): Promise<Uint8Array>;
  /**
   * Since version 2. Replaces the machine with one restored from `file`; the
   * VM keeps its run state (running stays running, paused stays paused).
   * The new machine is built first and swapped in only on success: a bad
   * file rejects with the SnapshotError's sentence and leaves the current
   * machine untouched. With shared RAM, `map` is fresh (all zero) p2m storage
   * for the new machine, which becomes the VM's map on success (the old
   * machine zeroes the old map when it is released).
   */
  restore(request: RestoreRequest): Promise<StateReport>;
}

/** `restore` (protocol version 2). */
export interface RestoreRequest {
  file: Uint8Array;
  /** Shared RAM only: fresh p2m storage for the restored machine (see GuestMemoryChannel.map). */
  map?: SharedArrayBuffer;
}
