/**
 * Machine snapshots: a whole VM to one `.tabvm` file (format.ts) and back.
 *
 * Capture: the manifest's `machine` is the board's configuration (the
 * constructor options that shape it, the boot command line, the virtio-mmio
 * slots, plus whatever the VMM records under `vmm`); its `components` are the
 * named state objects: "cpu", "fpu" (when the board has one), "clock" and one
 * per device under the device's name ("pic", "pit", "uart0", "rtc",
 * "i8042", "debug", virtio devices...). RAM is the present pages only.
 * Everything is copied synchronously when `captureSnapshot` is called; only
 * the compression is asynchronous, so the machine may run again at once.
 *
 * Restore never reuses anything: a fresh Machine is built from the recorded
 * configuration (live resources such as the frame pool, host clock and
 * virtio device objects come from the caller, never from the file), then the
 * state is checked against the shape of the fresh machine's own state and
 * restored. RAM is lazy: the decoded pages are attached to GuestMemory as a
 * backing and each is copied into a frame on its first touch, so restoring
 * costs the same for 64 MiB as for 2 GiB and untouched pages cost nothing.
 * Every failure is a SnapshotError with one sentence, and a failed restore
 * releases the half-built machine's frames before throwing.
 *
 * Time after a restore (also in docs/snapshots.md):
 * - Guest time continues from the saved guest time: the clock state is
 *   restored (instruction clock: offset against the restored instruction
 *   count; real-time clock: re-anchored at the host's "now"), so neither the
 *   wall time that passed between save and restore nor a pause reaches the
 *   guest. The PIT, the UART timeout and the RTC's periodic interrupt are
 *   computed from guest time, so they resume on their saved phase: no jump,
 *   no storm of missed ticks. The guest's uptime and monotonic clocks go on
 *   from where they were.
 * - The RTC keeps its saved offset (it shows the saved wall-clock time plus
 *   the guest time since), i.e. it is not resynced to the host. A VMM keeps
 *   guest time continuous; Linux reads the RTC only at boot and keeps its
 *   own wall clock from the TSC afterwards, so moving only the RTC would make
 *   the two disagree without the kernel noticing. Catching up with real time
 *   is the guest's job (NTP, `hwclock -s`), as after a laptop resume.
 */
import { Machine, type BootInfo, type ClockOptions, type MachineConfig, type MachineState } from '../machine.ts';
import type { CpuState } from '../cpu/index.ts';
import type { ClockState } from '../time/clock.ts';
import type { Device, DeviceState, StateValue } from '../devices/device.ts';
import type { FramePool } from '../memory/frame-pool.ts';
import type { MultibootModule } from '../boot/multiboot.ts';
import { SnapshotError } from './errors.ts';
import { decodeSnapshot, encodeSnapshot, PAGE_SIZE, type SnapshotContent, type SnapshotImage, type SnapshotManifest } from './format.ts';

const MIB = 1024 * 1024;
/** Component names that are not devices. */
const CORE_COMPONENTS: readonly string[] = ['cpu', 'fpu', 'clock'];

/** What the caller knows about the VM and the snapshot records for it. */
export interface SnapshotMeta {
  /** Identities of the images the guest was booted from (the VMM finds their bytes again by these). */
  images: SnapshotImage[];
  /** The VMM's own settings for this VM (name, image id, ...): stored as `manifest.machine.vmm`, not read by the core. */
  config?: { [key: string]: StateValue };
}

/** `manifest.machine` of a machine snapshot. */
export interface SnapshotMachineConfig extends MachineConfig {
  /** The last boot: its kind, its command line as given, and as the guest got it (with the loader's additions). Null if never booted. */
  boot: BootInfo | null;
  /** virtio-mmio slots in order; `restore` needs one device factory per slot. */
  virtio: Array<{ base: number; irq: number }>;
  vmm?: { [key: string]: StateValue };
}

export interface RestoreOptions {
  /** Frame pool to take RAM from (default: a private one, as `new Machine` does). */
  pool?: FramePool;
  /** Most frames the VM may hold (default: its RAM size). Must fit the snapshot's pages. */
  budgetFrames?: number;
  /** Storage for the p2m map (as MachineOptions.p2m). Lazily restored pages show as entries <= -2 until touched. */
  p2m?: Int32Array;
  /**
   * Guest time source. Default: the recorded kind (instruction clock with
   * the same pace, or real time from `hostNowMs`). Either way guest time
   * continues from the saved value.
   */
  clock?: ClockOptions;
  /** Host monotonic clock in ms (default performance.now()). */
  hostNowMs?: () => number;
  /** One factory per recorded virtio-mmio slot, in slot order (as for `machine.addVirtioMmioDevice`). */
  virtio?: Array<(base: number, irq: number) => Device>;
  /**
   * The images a guest reboot loads again (their identities are in
   * `manifest.images`; the command line comes from the snapshot). Without
   * them, reset() of the restored machine leaves it with cleared RAM and no OS.
   */
  resetImages?: { kernel: Uint8Array; initrd?: Uint8Array } | { multiboot: Uint8Array; modules?: MultibootModule[] };
  /** The RAM size the caller expects (e.g. the VM's settings): a snapshot of another size is refused. */
  ramBytes?: number;
  /** Copy every page in at once instead of on first touch (default false). */
  eager?: boolean;
  /** Run the restored machine with the JIT (not part of the snapshot: default off, as for `new Machine`). */
  jit?: boolean;
  /** Bound on the file's payload and decompressed content (default: format.ts's). */
  maxBytes?: number;
}

// ---- capture ------------------------------------------------------------------------

/**
 * The present RAM pages that hold anything but zeros, and their bytes. A
 * page left out reads as zeros in the restored machine (RAM without a frame
 * does), so the guest sees the same memory. Freshly booted Linux has zeroed
 * most of its RAM: leaving those pages out made the instant-boot snapshot's
 * decompressed size 6 MiB instead of 63 MiB, and its decoding ~8x faster.
 */
function nonZeroPages(machine: Machine): { pageNumbers: Uint32Array; pageData: Uint8Array } {
  const memory = machine.memory;
  const present = memory.presentPages();
  const pageData = new Uint8Array(present.length * PAGE_SIZE);
  const words = new Int32Array(pageData.buffer);
  const pageNumbers = new Uint32Array(present.length);
  let kept = 0;
  for (const page of present) {
    memory.readPage(page, pageData.subarray(kept * PAGE_SIZE, (kept + 1) * PAGE_SIZE));
    const first = kept * (PAGE_SIZE / 4);
    let w = first;
    const end = first + PAGE_SIZE / 4;
    while (w < end && words[w] === 0) w++;
    if (w < end) pageNumbers[kept++] = page;
  }
  // Copies, so the scratch buffer (every present page) is not kept alive by the result.
  return { pageNumbers: pageNumbers.slice(0, kept), pageData: pageData.slice(0, kept * PAGE_SIZE) };
}

/**
 * The manifest and RAM of a machine, copied now (synchronously). The
 * machine must not be inside runSlice (it never is between calls: one thread).
 */
export function captureSnapshotContent(machine: Machine, meta: SnapshotMeta): SnapshotContent {
  const state = machine.saveState();
  const components: Record<string, unknown> = {};
  const { fpu, ...cpu } = state.cpu;
  components.cpu = cpu;
  if (fpu !== null) components.fpu = fpu;
  components.clock = state.clock;
  for (const [name, deviceState] of Object.entries(state.devices)) {
    if (CORE_COMPONENTS.includes(name)) throw new Error(`snapshot: a device may not be named "${name}" (reserved component name)`);
    components[name] = deviceState;
  }
  const boot = machine.bootInfo;
  const config: SnapshotMachineConfig = {
    ...machine.config,
    boot: boot ? { kind: boot.kind, cmdline: boot.cmdline, commandLine: boot.commandLine } : null,
    virtio: state.virtio,
  };
  if (meta.config) config.vmm = meta.config;

  const { pageNumbers, pageData } = nonZeroPages(machine);

  const manifest: SnapshotManifest = {
    createdAt: new Date().toISOString(),
    machine: { ...config },
    images: meta.images.map((i) => ({ name: i.name, sha256: i.sha256, role: i.role })),
    components,
  };
  return { manifest, pageNumbers, pageData };
}

/**
 * Writes a snapshot of `machine`. All state and RAM are copied before this
 * returns its promise (the part of an async function before its first
 * await runs at once); the machine may run again while the file is compressed.
 */
export async function captureSnapshot(machine: Machine, meta: SnapshotMeta): Promise<Uint8Array> {
  const content = captureSnapshotContent(machine, meta);
  return encodeSnapshot(content);
}

// ---- restore ------------------------------------------------------------------------

/** Decodes a snapshot file and builds a fresh machine from it (see restoreDecodedSnapshot). */
export async function restoreSnapshot(file: Uint8Array, options: RestoreOptions = {}): Promise<Machine> {
  const decoded = await decodeSnapshot(file, options.maxBytes);
  return restoreDecodedSnapshot(decoded, options);
}

/**
 * Builds a fresh machine from decoded snapshot content (use this when the
 * caller also wants the manifest, e.g. to show `manifest.images`). The
 * machine keeps a reference to `content.pageData` until every page has been
 * touched (or `machine.memory.materializeAll()`): do not modify it.
 */
export function restoreDecodedSnapshot(content: SnapshotContent, options: RestoreOptions = {}): Machine {
  const config = readMachineConfig(content.manifest.machine);
  const pages = content.pageNumbers.length;
  if (options.ramBytes !== undefined && options.ramBytes !== config.ramBytes) {
    throw new SnapshotError('incompatible', `snapshot is of a machine with ${sizeText(config.ramBytes)} of RAM, not the ${sizeText(options.ramBytes)} expected`);
  }
  if (options.budgetFrames !== undefined && pages > options.budgetFrames) {
    throw new SnapshotError('incompatible', `snapshot holds ${pages} pages of guest memory, more than the VM's budget of ${options.budgetFrames} frames`);
  }
  if (options.pool && pages > options.pool.limitFrames - 2) {
    throw new SnapshotError('incompatible', `snapshot holds ${pages} pages of guest memory, more than the frame pool can ever hold (${options.pool.limitFrames} frames)`);
  }
  const factories = options.virtio ?? [];
  if (factories.length !== config.virtio.length) {
    throw new SnapshotError('incompatible', `snapshot has ${config.virtio.length} virtio-mmio devices but ${factories.length} device factories were given`);
  }
  const clock: ClockOptions = options.clock
    ?? (config.clock.mode === 'instructions'
      ? { mode: 'instructions', nsPerInstruction: config.clock.nsPerInstruction }
      : { mode: 'realtime', hostNowMs: options.hostNowMs ?? (() => performance.now()) });

  let machine: Machine;
  try {
    machine = new Machine({
      ramBytes: config.ramBytes,
      pool: options.pool,
      budgetFrames: options.budgetFrames,
      p2m: options.p2m,
      clock,
      startEpochMs: config.startEpochMs,
      hostNowMs: options.hostNowMs,
      testExit: config.testExit,
      secondUart: config.secondUart,
      fpu: config.fpu,
      jit: options.jit ?? false,
    });
  } catch (e) {
    throw new SnapshotError('incompatible', `the snapshot's machine cannot be built here: ${messageOf(e)}`);
  }
  try {
    factories.forEach((create, i) => {
      const slot = config.virtio[i]!;
      machine.addVirtioMmioDevice((base, irq) => {
        if (base !== slot.base || irq !== slot.irq) {
          throw new SnapshotError('incompatible', `virtio-mmio slot ${i} is at 0x${base.toString(16)} IRQ ${irq} here but at 0x${slot.base.toString(16)} IRQ ${slot.irq} in the snapshot`);
        }
        return create(base, irq);
      });
    });
    const state = assembleState(machine, config, content.manifest.components);
    try {
      machine.restoreState(state);
    } catch (e) {
      throw new SnapshotError('corrupt', `snapshot state does not restore: ${messageOf(e)}`);
    }
    try {
      machine.memory.attachBacking(content.pageNumbers, content.pageData);
    } catch (e) {
      throw new SnapshotError('corrupt', `snapshot RAM does not fit the machine: ${messageOf(e)}`);
    }
    if (options.eager) {
      try {
        machine.memory.materializeAll();
      } catch (e) {
        throw new SnapshotError('incompatible', `snapshot RAM cannot be copied in: ${messageOf(e)}`);
      }
    }
    const boot = config.boot ?? undefined;
    machine.bootInfo = boot;
    const images = options.resetImages;
    if (boot && images) {
      if ('multiboot' in images) {
        if (boot.kind !== 'multiboot') throw new SnapshotError('incompatible', 'a Multiboot image was given for a snapshot of a Linux boot');
        machine.rememberBoot({ kind: 'multiboot', image: images.multiboot, cmdline: boot.cmdline, modules: images.modules ?? [] });
      } else {
        if (boot.kind !== 'linux') throw new SnapshotError('incompatible', 'Linux images were given for a snapshot of a Multiboot boot');
        machine.rememberBoot({ kind: 'linux', images: { kernel: images.kernel, initrd: images.initrd, cmdline: boot.cmdline } });
      }
    }
    return machine;
  } catch (e) {
    machine.release();
    if (e instanceof SnapshotError) throw e;
    throw new SnapshotError('corrupt', `snapshot does not restore: ${messageOf(e)}`);
  }
}

// ---- checks ---------------------------------------------------------------------------

/** Reads and checks `manifest.machine`. */
function readMachineConfig(raw: SnapshotManifest['machine']): SnapshotMachineConfig {
  const bad = (field: string, want: string): never => {
    throw new SnapshotError('corrupt', `snapshot machine configuration has no valid "${field}" (${want})`);
  };
  const ramBytes = raw.ramBytes;
  if (!Number.isInteger(ramBytes) || ramBytes <= 0 || ramBytes % PAGE_SIZE !== 0) bad('ramBytes', 'a whole number of 4 KiB pages');
  const clock = raw.clock;
  let clockConfig: SnapshotMachineConfig['clock'];
  if (isObject(clock) && clock.mode === 'realtime') clockConfig = { mode: 'realtime' };
  else if (isObject(clock) && clock.mode === 'instructions' && typeof clock.nsPerInstruction === 'number' && clock.nsPerInstruction > 0) {
    clockConfig = { mode: 'instructions', nsPerInstruction: clock.nsPerInstruction };
  } else {
    return bad('clock', '"realtime" or "instructions" with a positive nsPerInstruction');
  }
  const flag = (field: string): boolean => {
    const v = raw[field];
    return typeof v === 'boolean' ? v : bad(field, 'true or false');
  };
  const startEpochMs = raw.startEpochMs;
  if (typeof startEpochMs !== 'number' || !Number.isFinite(startEpochMs)) bad('startEpochMs', 'a time in ms');
  let boot: SnapshotMachineConfig['boot'] = null;
  const b = raw.boot;
  if (b !== null) {
    if (!isObject(b) || (b.kind !== 'linux' && b.kind !== 'multiboot') || typeof b.cmdline !== 'string' || typeof b.commandLine !== 'string') {
      return bad('boot', 'null or the kind and command lines of the last boot');
    }
    boot = { kind: b.kind, cmdline: b.cmdline, commandLine: b.commandLine };
  }
  const virtio = raw.virtio;
  if (!Array.isArray(virtio) || !virtio.every((s) => isObject(s) && Number.isInteger(s.base) && Number.isInteger(s.irq))) {
    return bad('virtio', 'a list of slots with base and irq');
  }
  const config: SnapshotMachineConfig = {
    ramBytes,
    clock: clockConfig,
    startEpochMs: startEpochMs as number,
    testExit: flag('testExit'),
    secondUart: flag('secondUart'),
    fpu: flag('fpu'),
    boot,
    virtio: virtio.map((s: { base: number; irq: number }) => ({ base: s.base, irq: s.irq })),
  };
  if (isObject(raw.vmm)) config.vmm = raw.vmm as { [key: string]: StateValue };
  return config;
}

/**
 * Turns the manifest's components back into a MachineState for `machine`,
 * refusing unknown and missing components. The CPU and clock restore without
 * checking their input, so their components are checked field by field
 * against the fresh machine's own state; devices check their own fields.
 */
function assembleState(machine: Machine, config: SnapshotMachineConfig, components: Record<string, unknown>): MachineState {
  const template = machine.saveState();
  const expected = new Set(['cpu', 'clock', ...Object.keys(template.devices)]);
  if (template.cpu.fpu !== null) expected.add('fpu');
  for (const name of Object.keys(components)) {
    if (!expected.has(name)) throw new SnapshotError('incompatible', `snapshot has a component "${name}" that this machine does not have`);
  }
  for (const name of expected) {
    if (!(name in components)) throw new SnapshotError('corrupt', `snapshot has no state for component "${name}"`);
  }
  const { fpu: fpuTemplate, ...cpuTemplate } = template.cpu;
  checkShape('cpu', '', cpuTemplate, components.cpu);
  if (fpuTemplate !== null) checkShape('fpu', '', fpuTemplate, components.fpu);
  checkShape('clock', '', template.clock, components.clock);
  const clock = components.clock as ClockState;
  if (clock.nowNs < 0) throw new SnapshotError('corrupt', 'snapshot component "clock" has a negative guest time');
  const devices: Record<string, DeviceState> = {};
  for (const name of Object.keys(template.devices)) {
    const s = components[name];
    if (!isObject(s)) throw new SnapshotError('corrupt', `snapshot component "${name}" is not an object`);
    devices[name] = s as DeviceState;
  }
  const cpu = { ...(components.cpu as Omit<CpuState, 'fpu'>), fpu: fpuTemplate !== null ? (components.fpu as Record<string, unknown>) : null };
  return { version: 1, ramBytes: config.ramBytes, cpu, clock, devices, virtio: config.virtio };
}

/** `got` must have every field of `want` with the same JSON type (lists: the same length). Extra fields are ignored (newer minor versions). */
function checkShape(component: string, path: string, want: unknown, got: unknown): void {
  const where = path === '' ? `snapshot component "${component}"` : `snapshot component "${component}" field "${path}"`;
  const fail = (what: string): never => {
    throw new SnapshotError('corrupt', got === undefined ? `${where} is missing` : `${where} should be ${what}`);
  };
  if (typeof want === 'number') {
    if (typeof got !== 'number' || !Number.isFinite(got)) fail('a number');
  } else if (typeof want === 'boolean' || typeof want === 'string') {
    if (typeof got !== typeof want) fail(typeof want === 'string' ? 'a string' : 'true or false');
  } else if (want === null) {
    if (got !== null) fail('null');
  } else if (Array.isArray(want)) {
    if (!Array.isArray(got) || got.length !== want.length) fail(`a list of ${want.length}`);
    want.forEach((w, i) => checkShape(component, `${path}[${i}]`, w, (got as unknown[])[i]));
  } else if (isObject(want)) {
    if (!isObject(got)) fail('an object');
    for (const [key, w] of Object.entries(want)) checkShape(component, path === '' ? key : `${path}.${key}`, w, (got as Record<string, unknown>)[key]);
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function messageOf(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

function sizeText(bytes: number): string {
  return bytes % MIB === 0 ? `${bytes / MIB} MiB` : `${bytes} bytes`;
}
