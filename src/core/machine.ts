/**
 * The PC board: guest RAM from the frame pool, the port bus, the legacy
 * devices at their standard addresses, IRQ wiring through the 8259 pair to
 * the CPU, one guest clock, a reserved virtio-mmio window, the direct Linux
 * and Multiboot loaders, and the run loop the worker calls in time-boxed
 * slices.
 *
 *   ports   0x20/0xA0 PIC pair, 0x40-0x43 PIT, 0x61 port B, 0x60/0x64 i8042,
 *           0x70/0x71 RTC/CMOS, 0x3F8 COM1 (IRQ 4), 0x2F8 COM2 (IRQ 3,
 *           optional), 0x80 POST, 0xE9 debug console, 0xF4 test exit (opt.),
 *           0x4D0/0x4D1 ELCR
 *   IRQs    0 PIT, 3 COM2, 4 COM1, 8 RTC; virtio-mmio devices get 5, 9, 10,
 *           11, 12, 14, 15 in slot order
 *   memory  RAM from 0; virtio-mmio slots of 0x200 bytes from 0xD0000000
 *
 * The machine only picks addresses and wires lines; devices claim their own
 * ports and MMIO in attach(). Nothing here is module-level state: any number
 * of machines can live in one process (sharing one FramePool or not).
 */
import { Cpu, type CpuState } from './cpu/index.ts';
import { Reg, Seg, StopReason, type AccessSize, type CpuHost } from './cpu/host.ts';
import { X87 } from './cpu/fpu/x87.ts';
import { Jit, JIT_FRAMES, type JitOptions, type JitStats } from './jit/jit.ts';
import { PortBus } from './bus/port-bus.ts';
import { FramePool } from './memory/frame-pool.ts';
import { GuestMemory, type MmioHandler, type OutOfMemoryReason } from './memory/guest-memory.ts';
import { InstructionClock, RealTimeClock, type ClockState, type GuestClock } from './time/clock.ts';
import type { Device, DeviceState, IrqLine, MachineServices } from './devices/device.ts';
import { Pic8259 } from './devices/pic8259.ts';
import { Pit8254 } from './devices/pit8254.ts';
import { Uart16550 } from './devices/uart16550.ts';
import { CmosRtc } from './devices/cmos-rtc.ts';
import { I8042 } from './devices/i8042.ts';
import { DebugPorts } from './devices/debug-ports.ts';
import { loadLinux, type LinuxBootResult } from './boot/linux-loader.ts';
import { loadMultiboot, type MultibootModule, type MultibootResult } from './boot/multiboot.ts';
import type { InitialCpuState } from './boot/entry-state.ts';

export const VIRTIO_MMIO_BASE = 0xd0000000;
export const VIRTIO_MMIO_SLOT_SIZE = 0x200;
/** IRQ lines free for virtio-mmio devices (not the PIT, keyboard, cascade, COM ports, RTC, FPU or IRQ 7, whose vector doubles as the spurious one). */
export const VIRTIO_MMIO_IRQS: readonly number[] = [5, 9, 10, 11, 12, 14, 15];
/** RAM is reported only below the MMIO window. */
export const MAX_RAM_BYTES = VIRTIO_MMIO_BASE;

/**
 * The CPU runs in chunks between device checks; a chunk aims at this much
 * host time, which bounds timer latency (the PIC sees due timer edges between
 * chunks). The chunk length in instructions follows the measured speed.
 */
const CHUNK_TARGET_MS = 1;
const MIN_CHUNK = 256;
const MAX_CHUNK = 1_000_000;
/** Speed assumed before the first measurement, instructions per host ms. */
const INITIAL_INSTRUCTIONS_PER_MS = 10_000;
const MIB = 1024 * 1024;

export type ClockOptions =
  | { mode: 'realtime'; hostNowMs: () => number }
  | { mode: 'instructions'; nsPerInstruction?: number };

export interface MachineOptions {
  ramBytes: number;
  /** Frame pool to take RAM from (shared between VMs); default: a private pool as large as RAM. */
  pool?: FramePool;
  /** Most frames this VM may hold (default: RAM size). */
  budgetFrames?: number;
  /** Storage for the p2m map (see GuestMemoryOptions.p2m; shared so the coordinator can read it). */
  p2m?: Int32Array;
  /** Guest time source (default: real time from performance.now()). */
  clock?: ClockOptions;
  /** Wall-clock time (Unix ms) of guest time 0 for the RTC (default: Date.now()). */
  startEpochMs?: number;
  /** Host monotonic clock (ms) used to time-box slices (default: performance.now()). */
  hostNowMs?: () => number;
  /** Attach the test-exit port 0xF4 (bare-metal tests only). */
  testExit?: boolean;
  /** Add COM2 at 0x2F8 / IRQ 3. */
  secondUart?: boolean;
  /** Attach an x87 FPU (default true). */
  fpu?: boolean;
  /**
   * Compile hot guest code to WebAssembly (src/core/jit). Default: off here
   * (callers name the tier they test or measure); the playground and the CLI
   * turn it on. Not part of the machine's state: a snapshot restores under
   * either setting.
   */
  jit?: boolean | JitOptions;
}

/** Why runSlice returned. */
export type SliceStop =
  /** Instruction budget or host time box used up: call again. */
  | 'budget'
  /** The guest idles (HLT with interrupts enabled): call again after `sleepNs` or when input arrives. */
  | 'halted'
  /** HLT with interrupts disabled: nothing can wake the guest (Linux "halt" ends like this). */
  | 'halted-forever'
  /** The guest asked for a reset (i8042 pulse): the coordinator decides, e.g. calls reset(). */
  | 'reset'
  /** Triple fault; see `shutdownReason`. */
  | 'triple-fault'
  /** A first write found no frame (pool or budget exhausted): pause, make room, call memory.clearOutOfMemory(). */
  | 'out-of-memory'
  /** The guest wrote the test-exit port; see `exitCode`. */
  | 'test-exit'
  /** stop() was called. */
  | 'stopped';

export interface SliceResult {
  stop: SliceStop;
  /** Instructions retired during this slice. */
  instructions: number;
  /** Guest ns until the next timer event (Infinity if none). Meaningful after 'halted'. */
  sleepNs: number;
}

export interface MachineState {
  version: 1;
  ramBytes: number;
  cpu: CpuState;
  clock: ClockState;
  devices: Record<string, DeviceState>;
  virtio: Array<{ base: number; irq: number }>;
}

export interface LinuxBootImages {
  kernel: Uint8Array;
  initrd?: Uint8Array;
  cmdline: string;
  /** Unpack the kernel on the host and skip the guest's decompressor when possible (default true; see boot/kernel-payload.ts). */
  hostDecompress?: boolean;
  /** The kernel payload already unpacked by prepareKernel() (needed for gzip kernels; LZ4 is unpacked in bootLinux). */
  vmlinux?: Uint8Array;
  /** Seed for the guest kernel's RNG (boot protocol SETUP_RNG_SEED); default 32 fresh bytes from crypto.getRandomValues per boot. Fix it for deterministic runs. */
  rngSeed?: Uint8Array;
}

/** What reset() loads again: the last boot (a machine restored from a snapshot gets it through `rememberBoot`). */
export type BootRecord =
  | { kind: 'linux'; images: LinuxBootImages }
  | { kind: 'multiboot'; image: Uint8Array; cmdline: string; modules: MultibootModule[] };

/** What the guest was booted with: the kind, the command line as given and as the guest got it (with the loader's additions). */
export interface BootInfo {
  kind: BootRecord['kind'];
  cmdline: string;
  commandLine: string;
}

/**
 * The JSON-safe constructor options that shape the board, with defaults
 * filled in: what a snapshot records to build the same machine again.
 * (Pool, budget and host clock callbacks are the host's business, not the board's.)
 */
export interface MachineConfig {
  ramBytes: number;
  clock: { mode: 'realtime' } | { mode: 'instructions'; nsPerInstruction: number };
  startEpochMs: number;
  testExit: boolean;
  secondUart: boolean;
  fpu: boolean;
}

export class Machine {
  readonly ramBytes: number;
  readonly config: MachineConfig;
  /** The last boot (undefined before one); a snapshot records it. */
  bootInfo: BootInfo | undefined;
  readonly pool: FramePool;
  private jit: Jit | null = null;
  readonly memory: GuestMemory;
  readonly ports = new PortBus();
  readonly clock: GuestClock;
  readonly cpu: Cpu;
  readonly pic = new Pic8259();
  readonly pit = new Pit8254();
  readonly uart0: Uart16550;
  readonly uart1: Uart16550 | undefined;
  readonly rtc: CmosRtc;
  readonly kbc = new I8042();
  readonly debug: DebugPorts;
  /** Bytes the guest writes to COM1. */
  onSerialOutput: (byte: number) => void = () => {};
  /** Bytes the guest writes to port 0xE9. */
  onDebugOutput: (byte: number) => void = () => {};
  /** Set after a 'test-exit' stop. */
  exitCode = 0;
  /** Set after a 'triple-fault' stop. */
  shutdownReason = '';
  /** Set after an 'out-of-memory' stop. */
  outOfMemoryReason: OutOfMemoryReason | undefined;

  private readonly devices: Device[] = [];
  private readonly timed: Device[] = [];
  private readonly services: MachineServices;
  private readonly host: CpuHost;
  private readonly hostNowMs: () => number;
  private readonly instructionClock: InstructionClock | undefined;
  private readonly irqLines: IrqLine[] = [];
  private readonly virtioSlots: Array<{ base: number; irq: number; device: Device }> = [];
  private pendingStop: SliceStop | undefined;
  /** Measured CPU speed (moving average), instructions per host ms. */
  private instructionsPerMs = INITIAL_INSTRUCTIONS_PER_MS;
  private seenMappingGeneration = 0;
  private lastBoot: BootRecord | undefined;

  constructor(options: MachineOptions) {
    const ram = options.ramBytes;
    if (!(ram >= 2 * MIB) || ram > MAX_RAM_BYTES || ram % 4096 !== 0) {
      throw new Error(`machine: RAM size must be a multiple of 4 KiB between 2 MiB and ${MAX_RAM_BYTES / MIB} MiB (got ${ram})`);
    }
    this.ramBytes = ram;
    this.hostNowMs = options.hostNowMs ?? (() => performance.now());
    // A private pool holds the RAM, the scratch frames and the JIT's frames (which must not come out of the guest's RAM).
    const jitFrames = (options.jit ?? false) !== false ? JIT_FRAMES : 0;
    this.pool = options.pool ?? new FramePool({ limitFrames: ram / 4096 + 2 + jitFrames, initialFrames: 1024 });
    this.memory = new GuestMemory(this.pool, {
      ramBytes: ram,
      budgetFrames: options.budgetFrames,
      p2m: options.p2m,
      onOutOfMemory: (reason) => {
        this.outOfMemoryReason = reason;
        this.stopWith('out-of-memory');
      },
    });

    const memory = this.memory;
    const ports = this.ports;
    const pic = this.pic;
    // eslint-disable-next-line @typescript-eslint/no-this-alias -- the host object's TSC reads the clock chosen below
    const machine = this;
    this.host = {
      get buffer() {
        return memory.buffer;
      },
      bufferGeneration: memory.bufferGeneration,
      frameForRead: (page) => memory.frameForRead(page),
      frameForWrite: (page) => memory.frameForWrite(page),
      physRead: (address, size) => memory.physRead(address, size),
      physWrite: (address, size, value) => memory.physWrite(address, size, value),
      ioRead: (port, size: AccessSize) => ports.read(port, size),
      ioWrite: (port, size: AccessSize, value) => ports.write(port, size, value),
      acknowledgeInterrupt: () => pic.acknowledge(),
      readTsc: () => machine.clock.readTsc(),
    };

    const useFpu = options.fpu ?? true;
    this.cpu = useFpu ? new Cpu(this.host, (h) => new X87(h)) : new Cpu(this.host);
    const jit = options.jit ?? false;
    if (jit !== false) this.attachJit(jit === true ? {} : jit);

    const clockOptions: ClockOptions = options.clock ?? { mode: 'realtime', hostNowMs: () => performance.now() };
    if (clockOptions.mode === 'instructions') {
      const cpu = this.cpu;
      this.instructionClock = new InstructionClock(() => cpu.liveInstructionCount(), { nsPerInstruction: clockOptions.nsPerInstruction });
      this.clock = this.instructionClock;
    } else {
      this.clock = new RealTimeClock(clockOptions.hostNowMs);
    }

    for (let line = 0; line < 16; line++) this.irqLines.push({ set: (level) => pic.setIrq(line, level) });
    this.services = {
      ports,
      clock: this.clock,
      irq: (line) => {
        const l = this.irqLines[line];
        if (!l) throw new Error(`machine: there is no IRQ ${line}`);
        return l;
      },
      addMmio: (base: number, size: number, handler: MmioHandler) => memory.addMmio(base, size, handler),
    };

    pic.onInterruptLine = (raised) => this.cpu.setInterruptLine(raised);
    this.uart0 = new Uart16550({ name: 'uart0', base: 0x3f8, irq: 4 });
    this.uart0.onTransmit = (byte) => this.onSerialOutput(byte);
    this.uart1 = options.secondUart ? new Uart16550({ name: 'uart1', base: 0x2f8, irq: 3 }) : undefined;
    const startEpochMs = options.startEpochMs ?? Date.now();
    this.rtc = new CmosRtc({ ramBytes: ram, startEpochMs });
    this.kbc.onResetRequest = () => this.stopWith('reset');
    this.debug = new DebugPorts({ testExit: options.testExit });
    this.debug.onDebugByte = (byte) => this.onDebugOutput(byte);
    this.debug.onTestExit = (code) => {
      this.exitCode = code;
      this.stopWith('test-exit');
    };

    for (const device of [pic, this.pit, this.uart0, this.uart1, this.rtc, this.kbc, this.debug]) {
      if (device) this.addDevice(device);
    }
    this.config = {
      ramBytes: ram,
      clock: this.instructionClock ? { mode: 'instructions', nsPerInstruction: this.instructionClock.nsPerInstruction } : { mode: 'realtime' },
      startEpochMs,
      testExit: options.testExit ?? false,
      secondUart: options.secondUart ?? false,
      fpu: useFpu,
    };
  }

  // ---- devices -------------------------------------------------------------------

  /** Attaches a device to the board (claims its ports/MMIO/IRQ) and resets it. */
  addDevice(device: Device): void {
    if (this.devices.some((d) => d.name === device.name)) throw new Error(`machine: a device named "${device.name}" is already attached`);
    device.attach(this.services);
    device.reset();
    this.devices.push(device);
    if (device.nextDeadlineNs && device.advance) this.timed.push(device);
  }

  /**
   * Adds a virtio-mmio device in the next free slot of the MMIO window: the
   * factory receives its base address and IRQ line. The slot is announced to
   * Linux by `virtioCommandLine()`.
   */
  addVirtioMmioDevice(create: (base: number, irq: number) => Device): Device {
    const index = this.virtioSlots.length;
    const irq = VIRTIO_MMIO_IRQS[index];
    if (irq === undefined) throw new Error(`machine: no free virtio-mmio slot (at most ${VIRTIO_MMIO_IRQS.length})`);
    const base = VIRTIO_MMIO_BASE + index * VIRTIO_MMIO_SLOT_SIZE;
    const device = create(base, irq);
    this.addDevice(device);
    this.virtioSlots.push({ base, irq, device });
    return device;
  }

  /** `virtio_mmio.device=<size>@<base>:<irq>` for every attached virtio-mmio device. */
  virtioCommandLine(): string {
    return this.virtioSlots.map((s) => `virtio_mmio.device=${VIRTIO_MMIO_SLOT_SIZE}@0x${s.base.toString(16)}:${s.irq}`).join(' ');
  }

  // ---- boot ------------------------------------------------------------------------

  /**
   * Loads a bzImage (+ initrd) and points the CPU at its 32-bit entry. The
   * command line gets the virtio-mmio announcements and, unless it sets one
   * itself, `tsc_early_khz=` with the machine's TSC frequency: calibrating
   * the TSC against the PIT needs steady instruction timing that an
   * emulator does not have, and without it Linux marks the TSC unstable.
   */
  bootLinux(images: LinuxBootImages): LinuxBootResult {
    const parts = [images.cmdline];
    if (!/(^|\s)tsc_early_khz=/.test(images.cmdline)) parts.push(`tsc_early_khz=${Math.round(this.clock.tscHz / 1000)}`);
    const virtio = this.virtioCommandLine();
    if (virtio) parts.push(virtio);
    const cmdline = parts.filter((p) => p !== '').join(' ');
    const result = loadLinux({
      memory: this.memory,
      ramBytes: this.ramBytes,
      kernel: images.kernel,
      initrd: images.initrd,
      cmdline,
      mmioHoleStart: VIRTIO_MMIO_BASE,
      hostDecompress: images.hostDecompress,
      vmlinux: images.vmlinux,
      rngSeed: images.rngSeed ?? crypto.getRandomValues(new Uint8Array(32)),
    });
    this.applyEntryState(result.entry);
    this.lastBoot = { kind: 'linux', images };
    this.bootInfo = { kind: 'linux', cmdline: images.cmdline, commandLine: cmdline };
    return result;
  }

  bootMultiboot(image: Uint8Array, cmdline = '', modules: MultibootModule[] = []): MultibootResult {
    const result = loadMultiboot({ memory: this.memory, ramBytes: this.ramBytes, image, cmdline, modules, mmioHoleStart: VIRTIO_MMIO_BASE });
    this.applyEntryState(result.entry);
    this.lastBoot = { kind: 'multiboot', image, cmdline, modules };
    this.bootInfo = { kind: 'multiboot', cmdline, commandLine: cmdline };
    return result;
  }

  /** Puts the CPU in the state a loader asked for. */
  applyEntryState(state: InitialCpuState): void {
    const cpu = this.cpu;
    cpu.reset();
    cpu.setGdtr(state.gdt.base, state.gdt.limit);
    cpu.setIdtr(state.idt.base, state.idt.limit);
    cpu.setCr(0, state.cr0);
    const s = state.segments;
    const segments: Array<[Seg, typeof s.cs]> = [[Seg.ES, s.es], [Seg.SS, s.ss], [Seg.DS, s.ds], [Seg.FS, s.fs], [Seg.GS, s.gs], [Seg.CS, s.cs]];
    for (const [seg, v] of segments) cpu.setSegment(seg, v.selector, v.base, v.limit, v.flags);
    const r = state.registers;
    cpu.setReg32(Reg.EAX, r.eax);
    cpu.setReg32(Reg.ECX, r.ecx);
    cpu.setReg32(Reg.EDX, r.edx);
    cpu.setReg32(Reg.EBX, r.ebx);
    cpu.setReg32(Reg.ESP, r.esp);
    cpu.setReg32(Reg.EBP, r.ebp);
    cpu.setReg32(Reg.ESI, r.esi);
    cpu.setReg32(Reg.EDI, r.edi);
    cpu.setEflags(state.eflags);
    cpu.setEip(state.eip);
  }

  /**
   * Sets what reset() loads without loading it now: a machine restored from
   * a snapshot was never booted, but a guest reboot must find its images.
   */
  rememberBoot(boot: BootRecord): void {
    this.lastBoot = boot;
  }

  /**
   * Board reset: devices and CPU to power-on state, RAM cleared, and the last
   * boot (Linux or Multiboot) loaded again, since there is no firmware to do it.
   */
  reset(): void {
    this.pendingStop = undefined;
    for (const page of this.memory.presentPages()) this.memory.discardPage(page);
    for (const device of this.devices) device.reset();
    this.cpu.reset();
    this.cpu.setInterruptLine(this.pic.interruptPending);
    const boot = this.lastBoot;
    if (boot?.kind === 'linux') this.bootLinux(boot.images);
    else if (boot?.kind === 'multiboot') this.bootMultiboot(boot.image, boot.cmdline, boot.modules);
  }

  // ---- running -----------------------------------------------------------------------

  /** Makes the current (or next) runSlice return 'stopped' soon. Safe to call from callbacks. */
  stop(): void {
    this.stopWith('stopped');
  }

  /**
   * Runs the guest for at most `maxInstructions` instructions and about
   * `maxMs` of host time. Between CPU chunks it brings timed devices up to
   * the current guest time (raising due interrupts), so timer latency is one
   * chunk at most. In the instruction-count clock mode a halted CPU skips
   * guest time forward to the next timer event instead of returning.
   */
  runSlice(maxInstructions: number, maxMs: number): SliceResult {
    const cpu = this.cpu;
    const startMs = this.hostNowMs();
    const startRetired = cpu.instructionsRetired;
    const done = (stop: SliceStop, sleepNs = 0): SliceResult => ({ stop, instructions: cpu.instructionsRetired - startRetired, sleepNs });

    for (;;) {
      this.syncMappings();
      const now = this.clock.nowNs();
      this.advanceDevices(now);
      const pending = this.takePendingStop();
      if (pending) return done(pending);

      const left = maxInstructions - (cpu.instructionsRetired - startRetired);
      if (left <= 0) return done('budget');
      const speed = this.instructionsPerMs;
      let chunk = Math.min(left, clampChunk(speed * CHUNK_TARGET_MS));
      const deadline = this.nextDeadlineNs();
      if (deadline !== Infinity) {
        if (this.instructionClock) {
          // Stop exactly at the next timer event: instruction time is deterministic.
          chunk = Math.max(1, Math.min(chunk, Math.ceil((deadline - now) / this.instructionClock.nsPerInstruction)));
        } else {
          // Real time: stop about when the event falls due, at the measured speed.
          chunk = Math.min(chunk, clampChunk(((deadline - now) / 1e6) * speed));
        }
      }
      const before = cpu.instructionsRetired;
      const chunkStartMs = this.hostNowMs();
      const reason = cpu.run(chunk);
      const chunkEndMs = this.hostNowMs();
      const ran = cpu.instructionsRetired - before;
      const elapsed = chunkEndMs - chunkStartMs;
      if (reason === StopReason.Budget && ran >= MIN_CHUNK && elapsed > 0.02) {
        this.instructionsPerMs = 0.8 * speed + 0.2 * (ran / elapsed);
      }

      switch (reason) {
        case StopReason.Budget:
        case StopReason.Exception:
          break;
        case StopReason.StopRequested: {
          const stop = this.takePendingStop();
          if (stop) return done(stop);
          break;
        }
        case StopReason.Halted: {
          const t = this.clock.nowNs();
          this.advanceDevices(t);
          if (this.pic.interruptPending) break; // an interrupt is already due: take it now
          const next = this.nextDeadlineNs();
          if (this.instructionClock) {
            if (next === Infinity) return done('halted', Infinity);
            this.instructionClock.skipTo(next);
            break;
          }
          return done('halted', Math.max(0, next - t));
        }
        case StopReason.HaltedNoInterrupts:
          return done('halted-forever', Infinity);
        case StopReason.Shutdown:
          this.shutdownReason = this.cpu.shutdownReason || 'triple fault';
          return done('triple-fault');
        default:
          break;
      }
      if (chunkEndMs - startMs >= maxMs) return done('budget');
    }
  }

  /** Guest time of the earliest device event (Infinity if none). */
  nextDeadlineNs(): number {
    let next = Infinity;
    for (const d of this.timed) {
      const t = d.nextDeadlineNs!();
      if (t < next) next = t;
    }
    return next;
  }

  /** Clears the dirty-page bitmap and makes the CPU forget write translations, so later writes mark pages again. */
  clearDirtyPages(): void {
    this.memory.clearDirty();
    this.cpu.flushTlb();
  }

  /** Counters for graphs: CPU, memory and every device's metrics, flattened as "device.counter". */
  metrics(): Record<string, number> {
    const out: Record<string, number> = {
      'cpu.instructions': this.cpu.instructionsRetired,
      'memory.residentFrames': this.memory.residentFrames,
      'clock.ns': this.clock.nowNs(),
    };
    for (const d of this.devices) {
      const m = d.metrics?.();
      if (m) for (const [k, v] of Object.entries(m)) out[`${d.name}.${k}`] = v;
    }
    return out;
  }

  // ---- snapshots ------------------------------------------------------------------------

  /** Everything but RAM (the snapshot module stores `memory.presentPages()`). */
  saveState(): MachineState {
    const devices: Record<string, DeviceState> = {};
    for (const d of this.devices) devices[d.name] = d.saveState();
    return {
      version: 1,
      ramBytes: this.ramBytes,
      cpu: this.cpu.saveState(),
      clock: this.clock.saveState(),
      devices,
      virtio: this.virtioSlots.map((s) => ({ base: s.base, irq: s.irq })),
    };
  }

  /** Restores a state saved by a machine built with the same options and devices. RAM is restored separately. */
  restoreState(state: MachineState): void {
    if (state.version !== 1) throw new Error(`machine state version ${String(state.version)} is not supported`);
    if (state.ramBytes !== this.ramBytes) throw new Error(`machine state is for ${state.ramBytes} bytes of RAM, this machine has ${this.ramBytes}`);
    this.cpu.restoreState(state.cpu);
    this.clock.restoreState(state.clock);
    for (const d of this.devices) {
      const s = state.devices[d.name];
      if (!s) throw new Error(`machine state has nothing for device "${d.name}"`);
      d.restoreState(s);
    }
    this.cpu.setInterruptLine(this.pic.interruptPending);
    this.cpu.flushTlb();
    this.pendingStop = undefined;
  }

  /** Returns every frame to the pool. The machine is unusable afterwards. */
  release(): void {
    this.memory.release();
  }

  // ---- internals --------------------------------------------------------------------------

  private stopWith(stop: SliceStop): void {
    // The first reason wins: a reset requested while out of memory is still out of memory.
    this.pendingStop ??= stop;
    this.cpu.requestStop();
  }

  private takePendingStop(): SliceStop | undefined {
    const stop = this.pendingStop;
    this.pendingStop = undefined;
    return stop;
  }

  private advanceDevices(now: number): void {
    const timed = this.timed;
    for (let i = 0; i < timed.length; i++) {
      const d = timed[i]!;
      if (d.nextDeadlineNs!() <= now) d.advance!(now);
    }
  }

  /** The JIT tier (developer tools), or null when it is off. */
  get jitEngine(): Jit | null {
    return this.jit;
  }

  /** The JIT's statistics, or null when it is off (or could not get its frames). */
  get jitStats(): JitStats | null {
    return this.jit?.stats ?? null;
  }

  private attachJit(options: JitOptions): void {
    // Consecutive: the TLB arrays the generated code indexes span several frames each.
    const frames = this.memory.allocateSystemRun(JIT_FRAMES);
    if (frames === null) return; // no frames left: the interpreter alone runs the guest
    const pool = this.pool;
    this.cpu.enableJit((core) => {
      this.jit = new Jit(core, pool.memory, frames.map((f) => f * 4096), pool.shared, options);
      return this.jit;
    });
  }

  /** A page lost or changed its frame (balloon, restore, end of out-of-memory): drop the CPU's cached translations. */
  private syncMappings(): void {
    const gen = this.memory.mappingGeneration;
    if (gen !== this.seenMappingGeneration) {
      this.seenMappingGeneration = gen;
      this.cpu.flushTlb();
    }
  }
}

function clampChunk(instructions: number): number {
  return Math.max(MIN_CHUNK, Math.min(MAX_CHUNK, Math.round(instructions)));
}
