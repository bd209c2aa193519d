/**
 * The x86 Linux guest as the worker's run loop sees it: adapts the core
 * Machine (src/core/machine.ts) to GuestMachine. Serial bytes are gathered
 * during a slice and handed over once at its end; a guest-requested reset
 * (reboot) is carried out here and the guest keeps running.
 */
import { Machine } from '../../core/machine.ts';
import { prepareInitrd } from '../../core/boot/initrd.ts';
import { captureSnapshot, restoreDecodedSnapshot, type SnapshotMeta } from '../../core/snapshot/machine-snapshot.ts';
import { decodeSnapshot, type SnapshotImage } from '../../core/snapshot/format.ts';
import { SnapshotError } from '../../core/snapshot/errors.ts';
import { StateReason, type GuestConfig } from '../shared/protocol.ts';
import type { GuestMachine, GuestMemoryResources, MachineFactoryOptions, SliceResult } from './guest-machine.ts';

export type LinuxImageSpec = Extract<GuestConfig['image'], { kind: 'linux' }>;

/** Loads image bytes: fetch() in browsers and Node, file reads in tests. */
export type ByteLoader = (url: string) => Promise<Uint8Array>;

export const DEFAULT_CMDLINE = 'console=ttyS0 tsc=reliable panic=-1';

/**
 * Shared pool low-water mark: a VM that grew during a slice while fewer free
 * frames than this are left is paused right after that slice ("out of memory
 * budget"), before the pool is actually empty. The hard stop (a write that
 * finds no frame at all) loses that write (see guest-memory.ts), which a
 * guest kernel does not survive; pausing at the mark does not lose anything,
 * so the VM can resume once room is made. One slice (<= 5 ms) allocates far
 * less than this.
 */
export function poolReserveFrames(limitFrames: number): number {
  return Math.min(512, Math.floor(limitFrames / 32));
}

/** Downloads an image with a clear error (status, URL) instead of a bare network failure. */
export const fetchBytes: ByteLoader = async (url) => {
  let response: Response;
  try {
    response = await fetch(url);
  } catch (e) {
    throw new Error(`the image ${url} could not be downloaded: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
  }
  if (!response.ok) throw new Error(`the image ${url} could not be downloaded (HTTP ${response.status})`);
  return new Uint8Array(await response.arrayBuffer());
};

/** What a snapshot records about the VM and what a restored machine reboots from. */
export interface LinuxGuestImages {
  /** The kernel as loaded, and the initrd as prepared (unpacked), for `resetImages`. */
  kernel: Uint8Array;
  initrd?: Uint8Array;
  /** Names and sha256 of the image files as downloaded, and the VMM settings (manifest.machine.vmm). */
  meta: SnapshotMeta;
}

/** Lower-case hex SHA-256 of `bytes` (WebCrypto: browsers and Node). */
export async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const subtle = globalThis.crypto?.subtle;
  if (!subtle) throw new Error('SHA-256 is not available here (no crypto.subtle)');
  const digest = new Uint8Array(await subtle.digest('SHA-256', new Uint8Array(bytes)));
  let hex = '';
  for (const b of digest) hex += b.toString(16).padStart(2, '0');
  return hex;
}

/** The file name of an image URL (its last path segment), the name a snapshot records. */
export function imageName(url: string): string {
  const path = url.split(/[?#]/)[0]!;
  return path.slice(path.lastIndexOf('/') + 1) || url;
}

/**
 * Builds and boots the machine. With `memory` (the coordinator's shared frame
 * pool and this VM's p2m storage) guest RAM comes from the pool all VMs
 * share; without it (not cross-origin isolated) from a private pool. With
 * `restoreFollows` the kernel and initrd are loaded into RAM only when the
 * machine runs its first slice: a restore that replaces it first (instant
 * boot) saves the load (~150 ms of the worker's time in Chromium here) and
 * the frames it would have taken.
 */
export async function createLinuxGuest(
  config: GuestConfig, spec: LinuxImageSpec, load: ByteLoader = fetchBytes, memory?: GuestMemoryResources, options: MachineFactoryOptions = {},
): Promise<LinuxGuest> {
  const [kernel, packedInitrd] = await Promise.all([
    load(spec.kernelUrl),
    spec.initrdUrl === undefined ? Promise.resolve(undefined) : load(spec.initrdUrl),
  ]);
  const [initrd, kernelSha, initrdSha] = await Promise.all([
    packedInitrd && prepareInitrd(packedInitrd),
    spec.kernelSha256 ?? sha256Hex(kernel),
    packedInitrd && (spec.initrdSha256 ?? sha256Hex(packedInitrd)),
  ]);
  const cmdline = spec.cmdline ?? DEFAULT_CMDLINE;
  const meta: SnapshotMeta = {
    images: [{ name: imageName(spec.kernelUrl), sha256: kernelSha, role: 'kernel' }],
    config: { name: config.name, ramMiB: config.ramMiB, kernel: imageName(spec.kernelUrl), cmdline },
  };
  if (spec.initrdUrl !== undefined && initrdSha !== undefined) {
    meta.images.push({ name: imageName(spec.initrdUrl), sha256: initrdSha, role: 'initrd' });
    meta.config = { ...meta.config, initrd: imageName(spec.initrdUrl) };
  }
  const machine = new Machine({ ramBytes: config.ramMiB * 1024 * 1024, pool: memory?.pool, p2m: memory?.map, jit: config.jit === true });
  const boot = (): void => {
    machine.bootLinux({ kernel, initrd, cmdline });
    if (machine.memory.outOfMemory) {
      throw new Error(`${StateReason.OutOfMemoryBudget}: the frame pool has no room to load the kernel and initrd (${machine.pool.availableFrames} frames left)`);
    }
  };
  const images: LinuxGuestImages = initrd === undefined ? { kernel, meta } : { kernel, initrd, meta };
  if (options.restoreFollows === true) return new LinuxGuest(machine, images, boot);
  try {
    boot();
  } catch (e) {
    machine.release();
    throw e;
  }
  return new LinuxGuest(machine, images);
}

/**
 * A snapshot restores only into a VM booted from the same images (a reboot
 * of the restored guest loads this VM's), compared role by role.
 */
function checkSameImages(saved: readonly SnapshotImage[], mine: readonly SnapshotImage[]): void {
  const key = (list: readonly SnapshotImage[]): string => list.map((i) => `${i.role}:${i.sha256}`).join(',');
  if (key(saved) === key(mine)) return;
  const differing = [...new Set([...saved, ...mine].map((i) => i.role))]
    .filter((role) => saved.find((i) => i.role === role)?.sha256 !== mine.find((i) => i.role === role)?.sha256);
  throw new SnapshotError('incompatible', `snapshot is of a VM booted from another ${differing.join(' and ')} than this VM's`);
}

export class LinuxGuest implements GuestMachine {
  onConsoleOutput: (bytes: Uint8Array) => void = () => {};
  private output = new Uint8Array(4096);
  private outputLength = 0;
  /** Paused at the shared pool's low-water mark (see poolReserveFrames). */
  private lowPool = false;

  get pooledMemory(): boolean {
    return this.machine.pool.shared;
  }

  /**
   * `images`: needed for snapshots (their identities) and for reboots of a
   * restored machine (their bytes). `pendingBoot`: loads the boot images into
   * RAM; the first slice calls it (createLinuxGuest with restoreFollows).
   */
  constructor(readonly machine: Machine, private readonly images?: LinuxGuestImages, private pendingBoot?: () => void) {
    machine.onSerialOutput = (byte) => {
      if (this.outputLength === this.output.length) {
        const bigger = new Uint8Array(this.output.length * 2);
        bigger.set(this.output);
        this.output = bigger;
      }
      this.output[this.outputLength++] = byte;
    };
  }

  runSlice(maxInstructions: number, maxMs: number): SliceResult {
    if (this.pendingBoot !== undefined) {
      const boot = this.pendingBoot;
      this.pendingBoot = undefined;
      boot();
    }
    const residentBefore = this.machine.memory.residentFrames;
    const r = this.machine.runSlice(maxInstructions, maxMs);
    this.flushOutput();
    switch (r.stop) {
      case 'budget':
      case 'stopped':
        if (this.poolRunningLow(residentBefore)) return { instructions: r.instructions, halted: false, sleepMs: 0, outOfMemory: { detail: this.outOfMemoryDetail() } };
        return { instructions: r.instructions, halted: false, sleepMs: 0 };
      case 'halted':
        if (this.poolRunningLow(residentBefore)) return { instructions: r.instructions, halted: false, sleepMs: 0, outOfMemory: { detail: this.outOfMemoryDetail() } };
        return { instructions: r.instructions, halted: true, sleepMs: r.sleepNs / 1e6 };
      case 'reset':
        this.machine.reset();
        return { instructions: r.instructions, halted: false, sleepMs: 0 };
      case 'halted-forever':
        return { instructions: r.instructions, halted: true, sleepMs: Infinity, stopped: { reason: 'powered off' } };
      case 'triple-fault':
        return { instructions: r.instructions, halted: true, sleepMs: Infinity, stopped: { reason: `triple fault: ${this.machine.shutdownReason}` } };
      case 'out-of-memory':
        return { instructions: r.instructions, halted: false, sleepMs: 0, outOfMemory: { detail: this.outOfMemoryDetail() } };
      case 'test-exit':
        return { instructions: r.instructions, halted: true, sleepMs: Infinity, stopped: { reason: `test exit ${this.machine.exitCode}` } };
    }
  }

  consoleInput(bytes: Uint8Array): number {
    return this.machine.uart0.receive(bytes);
  }

  residentFrames(): number {
    return this.machine.memory.residentFrames;
  }

  interruptsDelivered(): number {
    return this.machine.pic.metrics()['interrupts'] ?? 0;
  }

  jitInstructions(): number {
    return this.machine.jitStats?.instructions ?? 0;
  }

  pause(): void {
    this.machine.clock.pause();
  }

  resume(): void {
    this.machine.clock.resume();
  }

  dispose(): void {
    this.machine.release();
  }

  snapshot(): Promise<Uint8Array> {
    // captureSnapshot copies state and RAM before its first await: the machine may run on at once.
    return captureSnapshot(this.machine, this.images?.meta ?? { images: [] });
  }

  async restore(file: Uint8Array, memory?: GuestMemoryResources): Promise<LinuxGuest> {
    const images = this.images;
    const decoded = await decodeSnapshot(file);
    if (images) checkSameImages(decoded.manifest.images, images.meta.images);
    const machine = restoreDecodedSnapshot(decoded, {
      pool: memory?.pool,
      p2m: memory?.map,
      ramBytes: this.machine.config.ramBytes,
      jit: this.machine.jitStats !== null,
      resetImages: images && (images.initrd === undefined ? { kernel: images.kernel } : { kernel: images.kernel, initrd: images.initrd }),
    });
    return new LinuxGuest(machine, images);
  }

  clearOutOfMemory(): string | undefined {
    const { memory, pool } = this.machine;
    if (!memory.outOfMemory && !this.lowPool) return undefined;
    const reserve = pool.shared ? poolReserveFrames(pool.limitFrames) : 0;
    if (pool.availableFrames <= reserve || memory.residentFrames >= memory.budgetFrames) return this.outOfMemoryDetail();
    this.lowPool = false;
    if (memory.outOfMemory) {
      memory.clearOutOfMemory();
      this.machine.outOfMemoryReason = undefined;
    }
    return undefined;
  }

  /** Shared pool only: this VM grew during the slice and the pool is below its low-water mark. */
  private poolRunningLow(residentBefore: number): boolean {
    const { pool, memory } = this.machine;
    if (!pool.shared || memory.residentFrames <= residentBefore || pool.availableFrames > poolReserveFrames(pool.limitFrames)) return false;
    this.lowPool = true;
    return true;
  }

  private outOfMemoryDetail(): string {
    const { pool, memory } = this.machine;
    if (this.machine.outOfMemoryReason === 'budget') return `${memory.residentFrames} resident frames reached the hard budget of ${memory.budgetFrames}`;
    return `the ${pool.shared ? 'shared ' : ''}frame pool is exhausted (${pool.allocatedFrames} of ${pool.limitFrames - 1} frames in use) while this VM (${memory.residentFrames} frames) asked for more`;
  }

  private flushOutput(): void {
    if (this.outputLength === 0) return;
    this.onConsoleOutput(this.output.subarray(0, this.outputLength));
    this.outputLength = 0;
  }
}
