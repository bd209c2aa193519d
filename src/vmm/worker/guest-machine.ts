/**
 * What a guest worker hosts: the board (src/core/machine.ts once it exists,
 * or the synthetic stand-in), seen through the few calls the run loop needs.
 * The core Machine satisfies this structurally; core never imports vmm.
 */
import type { FramePool } from '../../core/memory/frame-pool.ts';
import type { GuestConfig } from '../shared/protocol.ts';

export interface SliceResult {
  /** Guest instructions retired in this slice. */
  instructions: number;
  /** The guest executed HLT with nothing pending (it is idle until `sleepMs` or an input). */
  halted: boolean;
  /** When halted: ms until the next timer event the guest waits for. */
  sleepMs: number;
  /** The guest ended itself (poweroff, triple fault, ...); the machine is dead afterwards. */
  stopped?: { reason: string };
  /**
   * A first write found no frame (the shared pool ran out, or the VM's hard
   * frame budget): the machine must not run again until `clearOutOfMemory`
   * succeeds. The runtime pauses the VM with StateReason.OutOfMemoryBudget.
   */
  outOfMemory?: { detail: string };
}

export interface GuestMachine {
  /**
   * Runs until `maxInstructions` retire, `maxMs` of wall time pass, the guest
   * halts or stops — whichever comes first. Must never block.
   */
  runSlice(maxInstructions: number, maxMs: number): SliceResult;
  /** Serial console RX: returns how many bytes the UART accepted (FIFO backpressure). */
  consoleInput(bytes: Uint8Array): number;
  /** Serial console TX; the runtime sets this. The bytes are copied before it returns. */
  onConsoleOutput: (bytes: Uint8Array) => void;
  /** Frames of the shared pool this machine holds now. */
  residentFrames(): number;
  /** Optional: true when the machine's RAM really comes from the GuestMemoryResources it was built with. */
  readonly pooledMemory?: boolean;
  /** Optional: interrupts delivered so far (for the IRQ counter). */
  interruptsDelivered?(): number;
  /** Optional: instructions retired in compiled (JIT) code so far. */
  jitInstructions?(): number;
  /** Optional: the VM is paused; guest time stops until resume(). */
  pause?(): void;
  /** Optional: the VM runs again; guest time continues from where it stopped. */
  resume?(): void;
  /** Optional: release frames and other resources (called before a reset or stop). */
  dispose?(): void;
  /**
   * Optional: ends an out-of-memory episode before the VM resumes. Returns
   * why it cannot yet (still no frame to be had), or undefined when it may run.
   */
  clearOutOfMemory?(): string | undefined;
  /**
   * Optional: a `.tabvm` snapshot of the machine. Called between slices; the
   * state and RAM must be copied before the returned promise's first await
   * (the machine may run again while the file is compressed).
   */
  snapshot?(): Promise<Uint8Array>;
  /**
   * Optional: a new machine restored from `file`, built next to this one
   * (which stays untouched and keeps running until the caller swaps). Rejects
   * with a SnapshotError when the file cannot become a machine here.
   * `memory`: the shared pool and fresh p2m storage for the new machine.
   */
  restore?(file: Uint8Array, memory?: GuestMemoryResources): Promise<GuestMachine>;
}

/** Where guest RAM comes from when the coordinator shares its frame pool (see GuestMemoryChannel). */
export interface GuestMemoryResources {
  /** The coordinator's pool, attached in this worker. */
  pool: FramePool;
  /** Storage for the VM's p2m map (zero when handed over; the machine zeroes it again when released). */
  map: Int32Array;
}

/** How the machine will be used right after it is built. */
export interface MachineFactoryOptions {
  /** A snapshot restore replaces it before its first slice (CreateRequest.restoreFollows). */
  restoreFollows?: boolean;
  /** Image bytes by URL that need no fetch (CreateRequest.images). */
  images?: ReadonlyMap<string, Uint8Array>;
}

/** Builds a machine from its config (may load the image asynchronously); `memory` when RAM comes from the shared pool. */
export type MachineFactory = (config: GuestConfig, memory?: GuestMemoryResources, options?: MachineFactoryOptions) => GuestMachine | Promise<GuestMachine>;
