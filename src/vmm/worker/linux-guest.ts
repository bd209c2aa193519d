/**
 * The x86 Linux guest as the worker's run loop sees it: adapts the core
 * Machine (src/core/machine.ts) to GuestMachine. Serial bytes are gathered
 * during a slice and handed over once at its end; a guest-requested reset
 * (reboot) is carried out here and the guest keeps running.
 */
import { Machine } from '../../core/machine.ts';
import { captureSnapshot, restoreDecodedSnapshot, type SnapshotMeta } from '../../core/snapshot/machine-snapshot.ts';
import { decodeSnapshot, type SnapshotImage } from '../../core/snapshot/format.ts';
import { SnapshotError } from '../../core/snapshot/errors.ts';
import { StateReason, type GuestConfig } from '../shared/protocol.ts';
import type { GuestMachine, GuestMemoryResources, MachineFactoryOptions, SliceResult } from './guest-machine.ts';
import { fetchBytes, imageName, isLazySpec, LinuxImageSource, loadLinuxImages, type ByteLoader, type LinuxBootImages, type LinuxImageSpec } from './linux-images.ts';

export { fetchBytes, type ByteLoader, type LinuxImageSpec } from './linux-images.ts';

export const DEFAULT_CMDLINE = 'console=ttyS0 tsc=reliable panic=-1';

/** How long a slice that waits for images to load sleeps before it looks again. */
const IMAGE_WAIT_MS = 5;

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

/** What a snapshot records about the VM and what a restored machine reboots from. */
export interface LinuxGuestImages {
  /** The kernel and initrd (prepared), now or once loaded, for boots and reboots. */
  source: LinuxImageSource;
  /** Names and sha256 of the image files as downloaded, and the VMM settings (manifest.machine.vmm). */
  meta: SnapshotMeta;
}

/**
 * Builds and boots the machine. With `memory` (the coordinator's shared frame
 * pool and this VM's p2m storage) guest RAM comes from the pool all VMs
 * share; without it (not cross-origin isolated) from a private pool. With
 * `restoreFollows` the kernel and initrd are loaded into RAM only when the
 * machine runs its first slice: a restore that replaces it first (instant
 * boot) saves the load (~150 ms of the worker's time in Chromium here) and
 * the frames it would have taken. A lazy spec with `restoreFollows` is not
 * even downloaded until then (linux-images.ts).
 */
export async function createLinuxGuest(
  config: GuestConfig, spec: LinuxImageSpec, load: ByteLoader = fetchBytes, memory?: GuestMemoryResources, options: MachineFactoryOptions = {},
): Promise<LinuxGuest> {
  const deferred = options.restoreFollows === true && isLazySpec(spec);
  const loaded = deferred ? undefined : await loadLinuxImages(spec, load);
  const kernelSha = loaded?.kernelSha256 ?? spec.kernelSha256!;
  const initrdSha = loaded ? loaded.initrdSha256 : spec.initrdSha256;
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
  const boot = (images: LinuxBootImages): void => {
    machine.bootLinux({ kernel: images.kernel, initrd: images.initrd, cmdline });
    if (machine.memory.outOfMemory) {
      throw new Error(`${StateReason.OutOfMemoryBudget}: the frame pool has no room to load the kernel and initrd (${machine.pool.availableFrames} frames left)`);
    }
  };
  const images: LinuxGuestImages = { source: new LinuxImageSource(spec, load, loaded), meta };
  if (options.restoreFollows === true) return new LinuxGuest(machine, images, boot);
  try {
    boot(loaded!);
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
   * A reboot the guest asked for while its images were not loaded yet (a
   * restored machine with lazy images): it happens once they are.
   */
  private pendingReset = false;

  /**
   * `images`: needed for snapshots (their identities) and for reboots of a
   * restored machine (their bytes). `pendingBoot`: loads the boot images into
   * RAM; the first slice calls it (createLinuxGuest with restoreFollows).
   */
  constructor(readonly machine: Machine, private readonly images?: LinuxGuestImages, private pendingBoot?: (images: LinuxBootImages) => void) {
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
    if (this.pendingBoot !== undefined || this.pendingReset) {
      const waiting = this.loadPendingImages();
      if (waiting !== undefined) return waiting;
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
      case 'reset': {
        // A restored machine whose images were never loaded reboots once they are.
        this.pendingReset = true;
        const waiting = this.loadPendingImages();
        return waiting !== undefined ? { ...waiting, instructions: r.instructions } : { instructions: r.instructions, halted: false, sleepMs: 0 };
      }
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

  /**
   * Boots, or reboots, with images that may still be loading: undefined when
   * that is done, else the slice to report (wait a little; or stopped, when
   * the images could not be loaded).
   */
  private loadPendingImages(): SliceResult | undefined {
    const source = this.images?.source;
    const images = source?.images;
    if (source !== undefined && images === undefined) {
      if (source.failure !== undefined) return { instructions: 0, halted: true, sleepMs: Infinity, stopped: { reason: source.failure } };
      source.request();
      return { instructions: 0, halted: true, sleepMs: IMAGE_WAIT_MS };
    }
    const boot = this.pendingBoot;
    this.pendingBoot = undefined;
    if (boot !== undefined && images !== undefined) boot(images);
    if (this.pendingReset) {
      this.pendingReset = false;
      this.rememberBoot(this.machine, images);
      this.machine.reset();
    }
    return undefined;
  }

  /** Tells a restored machine what a reboot loads (its boot record's command line, these images). */
  private rememberBoot(machine: Machine, images: LinuxBootImages | undefined): void {
    const boot = machine.bootInfo;
    if (images !== undefined && boot?.kind === 'linux') machine.rememberBoot({ kind: 'linux', images: { kernel: images.kernel, initrd: images.initrd, cmdline: boot.cmdline } });
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
      resetImages: images?.source.images,
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
