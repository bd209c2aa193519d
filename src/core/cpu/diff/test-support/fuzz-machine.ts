/**
 * Random-byte fuzzing of the CPU: streams of (biased) random bytes executed
 * at CPL 0 or CPL 3 in the same little machine as the differential runner
 * (paging on, identity map of a few pages, Linux-like GDT/IDT/TSS), with
 * trapExceptions on. Any JavaScript exception escaping Cpu.run() is a host
 * bug. Ring-0 streams may rewrite anything (page tables, GDT, CR0...), so
 * every page written during a stream is restored from a pristine copy, and
 * the CPU is reset and set up again before each stream.
 */
import type { CpuHost } from '../../host.ts';
import { Rng } from './prng.ts';
import { type CpuFactory, type DiffCpu, EmuRunner, SEL_CS, SEL_DS } from './emu-runner.ts';

import { CODE_BASE, DATA_BASE, PAGE_SIZE, STACK_BASE, INITIAL_ESP } from './format.ts';

/** Linux's i386 TLS selector (GDT entry 12), flat here: ring-3 fuzz streams start with GS loaded, as in a process. */
const SEL_TLS = 0x63;

export interface FuzzFailure {
  stream: number;
  ring: 0 | 3;
  bytes: Uint8Array;
  regs: Uint32Array;
  eflags: number;
  error: string;
}

/** Remembers which frames were handed out for writing (the TLB is flushed before each stream). */
class WriteTracker {
  readonly dirty = new Set<number>();
}

const PREFIXES = [0x66, 0x67, 0xf0, 0xf2, 0xf3, 0x26, 0x2e, 0x36, 0x3e, 0x64, 0x65];

export class FuzzMachine {
  readonly runner: EmuRunner;
  readonly cpu: DiffCpu;
  private readonly pristine: Uint8Array;
  private readonly tracker = new WriteTracker();
  readonly streamLen = 96;
  /** Instructions per stream. */
  budget = 64;
  /** Statistics: instructions retired, stops by StopReason (and 'vector N' for exceptions). */
  retired = 0;
  readonly stops = new Map<string, number>();

  constructor(factory: CpuFactory) {
    const tracker = this.tracker;
    // Wrap the host so that frameForWrite marks pages dirty.
    this.runner = new EmuRunner((h: CpuHost) => {
      const orig = h.frameForWrite.bind(h);
      h.frameForWrite = (page: number): number => {
        const f = orig(page);
        if (f >= 0) tracker.dirty.add(f);
        return f;
      };
      return factory(h);
    });
    this.cpu = this.runner.cpu;
    this.pristine = this.runner.host.mem.slice();
  }

  /** Restores every page written since the last call, plus the page tables (A/D bits). */
  private restore(): void {
    const mem = this.runner.host.mem;
    for (const f of this.tracker.dirty) mem.set(this.pristine.subarray(f, f + PAGE_SIZE), f);
    for (const f of [0x1000, 0x2000, 0x3000, 0x7000]) mem.set(this.pristine.subarray(f, f + PAGE_SIZE), f);
    this.tracker.dirty.clear();
  }

  /** A random instruction stream: pure noise, or prefix/opcode-shaped noise. */
  streamBytes(rng: Rng): Uint8Array {
    const b = new Uint8Array(this.streamLen);
    if (rng.bool(0.4)) {
      for (let i = 0; i < b.length; i++) b[i] = rng.int(256);
      return b;
    }
    let i = 0;
    while (i < b.length) {
      while (rng.bool(0.25) && i < b.length) b[i++] = rng.pick(PREFIXES);
      if (i < b.length && rng.bool(0.3)) b[i++] = 0x0f;
      const n = 1 + rng.int(7);
      for (let k = 0; k < n && i < b.length; k++) b[i++] = rng.int(256);
    }
    return b;
  }

  /** Runs one stream; returns the error text of a host exception, or null. */
  runStream(rng: Rng, ring: 0 | 3, bytes: Uint8Array, regs: Uint32Array, eflags: number): string | null {
    this.restore();
    const host = this.runner.host;
    const mem = host.mem;
    mem.set(bytes, host.codeFrame);
    for (let i = 0; i < 256; i++) mem[host.dataFrame + i] = rng.int(256);
    this.runner.setupCpu();
    const cpu = this.cpu;
    if (ring === 0) {
      cpu.setSegment(1, 0x10, 0, 0xffffffff, 0xc9b);
      for (const s of [0, 2, 3, 5]) cpu.setSegment(s, 0x18, 0, 0xffffffff, 0xc93);
      cpu.setSegment(4, 0x18, 0, 0xffffffff, 0xc93);
    } else {
      cpu.setSegment(1, SEL_CS, 0, 0xffffffff, 0xcfb);
      for (const s of [0, 2, 3]) cpu.setSegment(s, SEL_DS, 0, 0xffffffff, 0xcf3);
      cpu.setSegment(4, 0, 0, 0, 0);
      cpu.setSegment(5, SEL_TLS, 0, 0xffffffff, 0xcf3);
    }
    for (let r = 0; r < 8; r++) cpu.setReg32(r, regs[r]!);
    cpu.setEflags(eflags);
    cpu.setEip(CODE_BASE);
    try {
      // After an exception, skip the faulting instruction and go on with the same
      // stream (traps already point past it) until the budget or the stream runs out.
      for (let round = 0; round < this.maxExceptions; round++) {
        const before = cpu.instructionsRetired ?? 0;
        const why = cpu.run(this.budget);
        this.retired += (cpu.instructionsRetired ?? 0) - before;
        const key = why === 4 ? `#${cpu.exceptionVector}` : `stop ${why}`;
        this.stops.set(key, (this.stops.get(key) ?? 0) + 1);
        // Sanity of what the CPU reports.
        for (let r = 0; r < 8; r++) {
          const v = cpu.getReg32(r);
          if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) return `register ${r} holds ${v}`;
        }
        const eip = cpu.getEip();
        if (!Number.isInteger(eip) || eip < 0 || eip > 0xffffffff) return `EIP is ${eip}`;
        if (why !== 4) break;
        const v = cpu.exceptionVector;
        if (v === 1 || v === 3 || v === 4) continue;
        const off = eip - CODE_BASE;
        if (off < 0 || off >= bytes.length) break;
        cpu.setEip(eip + Math.max(1, this.lengthAt(bytes, off)));
      }
      return null;
    } catch (e) {
      return e instanceof Error ? (e.stack ?? e.message) : String(e);
    }
  }

  /** Exceptions skipped over per stream before giving up on it. */
  maxExceptions = 16;
  /** Instruction length for skipping (the CPU's disassembler; 1 when it cannot tell). */
  lengthAt: (bytes: Uint8Array, off: number) => number = () => 1;

  /** Register values: mostly pointers into the mapped pages, some noise. */
  static randomRegs(rng: Rng): Uint32Array {
    const regs = new Uint32Array(8);
    for (let r = 0; r < 8; r++) {
      const k = rng.int(4);
      regs[r] = k === 0 ? rng.u32() : k === 1 ? DATA_BASE + rng.int(PAGE_SIZE) : k === 2 ? rng.int(0x100) : STACK_BASE + rng.int(PAGE_SIZE);
    }
    regs[4] = rng.bool(0.9) ? INITIAL_ESP : rng.u32();
    return regs;
  }
}
