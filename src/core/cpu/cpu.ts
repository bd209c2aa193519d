/**
 * The public CPU: reset, the run loop (events between instructions,
 * exception delivery with #DF/triple-fault escalation, host-bug wrapping),
 * register/segment/control-register access for the bootloader, debugger and
 * tests, and snapshots. The execution engine is interpreter.ts; all state
 * lives in CpuCore (state.ts), which this class extends.
 *
 * Documented choices:
 *  - trapExceptions stops on processor exceptions and on INT3/INTO/INT1
 *    (traps: EIP after the instruction); INT n (CD ib) is always delivered.
 *  - readLinear* / writeLinear* never fault and have no side effects on
 *    A/D bits: unmapped (or, for writes, read-only) addresses read as -1 and
 *    ignore writes. They work inside and outside run().
 *  - A REP string instruction that yields mid-way (every 64 Ki iterations)
 *    counts as one retired instruction per slice.
 */
import type { CpuHost } from './host.ts';
import { StopReason, Reg, Seg } from './host.ts';
import type { FpuHost, FpuUnit } from './fpu/fpu-host.ts';
import { CpuCore, type JitHooks } from './state.ts';
import { S_CS, S_LDTR, S_TR, STOP_BUDGET } from './constants.ts';
import { GUEST_FAULT } from './exceptions.ts';
import { readEflags, materialize } from './flags.ts';
import { execute } from './interpreter.ts';
import { BlockCache, type BlockTierOptions } from './block-cache.ts';
import { getEip } from './fetch.ts';
import { debugRead8, debugWrite8 } from './debug-memory.ts';
import { refreshViews, setEipRaw, tlbFlush, tlbSelect } from './tlb.ts';
import { setSegCache } from './segmentation.ts';
import { writeCr0, writeCr3, writeCr4 } from './system-ops.ts';
import { FpuHostAdapter } from './fpu-glue.ts';
import { warmUpBlockTier, warmUpInterpreter } from './warmup.ts';

/** Set once the interpreter warm-up (warmup.ts) has run in this process. */
let warmedUp = false;

/**
 * Runs the interpreter warm-up (warmup.ts) unless it has run in this process.
 * The first Cpu does it anyway; a guest worker calls it while it waits for
 * its VM, so the 5-30 ms are not spent between the VM's creation and its
 * first instruction.
 */
export function prewarmInterpreter(): void {
  if (warmedUp) return;
  warmedUp = true;
  warmUpInterpreter((host) => {
    const cpu = new Cpu(host);
    cpu.setBlockTier(false);
    return cpu;
  });
}

let blockTierWarmedUp = false;

/**
 * The block tier's warm-up (warmup.ts), once per process, when a CPU is
 * about to start its block tier: the interpreter's program with every block
 * decoded on sight, then the block program. Not earlier: it makes V8
 * compile runBlocks(), which a CPU with a JIT (the playground's default)
 * never runs, and which costs a boot's worth of background compiling.
 */
function prewarmBlockTier(): void {
  if (blockTierWarmedUp) return;
  blockTierWarmedUp = true;
  warmUpInterpreter((host) => {
    const cpu = new Cpu(host);
    cpu.setBlockTier(true, { hotVisits: 1, warmup: 0 });
    return cpu;
  });
  warmUpBlockTier((host) => {
    const cpu = new Cpu(host);
    cpu.setBlockTier(true, { warmup: 0 });
    return cpu;
  });
}

export interface SegmentState {
  selector: number;
  base: number;
  limit: number;
  flags: number;
}

export interface CpuState {
  version: 1;
  /** EAX, ECX, EDX, EBX, ESP, EBP, ESI, EDI (unsigned). */
  regs: number[];
  eip: number;
  eflags: number;
  es: SegmentState;
  cs: SegmentState;
  ss: SegmentState;
  ds: SegmentState;
  fs: SegmentState;
  gs: SegmentState;
  ldtr: SegmentState;
  tr: SegmentState;
  gdtr: { base: number; limit: number };
  idtr: { base: number; limit: number };
  cr0: number;
  cr2: number;
  cr3: number;
  cr4: number;
  /** DR0..DR7. */
  dr: number[];
  cpl: number;
  sysenterCs: number;
  sysenterEsp: number;
  sysenterEip: number;
  tscOffset: number;
  halted: boolean;
  shutdown: boolean;
  interruptLine: boolean;
  /** 0 none, 1 after STI (interrupts wait), 2 after MOV SS / POP SS (interrupts and debug traps wait). */
  interruptShadow: number;
  singleStepPending: boolean;
  instructionsRetired: number;
  fpu: Record<string, unknown> | null;
}

const SEG_NAMES = ['es', 'cs', 'ss', 'ds', 'fs', 'gs', 'ldtr', 'tr'] as const;

function hex(v: number): string {
  return (v >>> 0).toString(16).padStart(8, '0');
}

export class Cpu extends CpuCore {
  /** The FpuHost view of this CPU, for constructing an x87 unit after the CPU: `new X87(cpu.fpuHost)`. */
  readonly fpuHost: FpuHost;

  /**
   * `fpu` may be an FpuUnit or a factory receiving this CPU's FpuHost adapter
   * (`(h) => new X87(h)`), since the x87 unit needs the adapter to exist.
   */
  constructor(host: CpuHost, fpu?: FpuUnit | ((fpuHost: FpuHost) => FpuUnit)) {
    super(host, null);
    this.blocks = new BlockCache();
    this.fpuHost = new FpuHostAdapter(this);
    if (typeof fpu === 'function') this.fpu = fpu(this.fpuHost);
    else if (fpu !== undefined) this.fpu = fpu;
    this.reset();
    prewarmInterpreter();
  }

  /** Attach (or detach with null) an x87 unit after construction. */
  attachFpu(fpu: FpuUnit | null): void {
    this.fpu = fpu;
  }

  /** Power-on state (SDM Vol. 3A 10.1.1, table 10-1). */
  reset(): void {
    this.regs.fill(0);
    this.regs[2] = 0x633; // EDX: processor signature
    this.flags = 2;
    this.lop = 0;
    this.cr0 = 0x60000010;
    this.cr2 = 0;
    this.cr3 = 0;
    this.cr4 = 0;
    this.pe = 0;
    this.cpl = 0;
    this.dr.fill(0);
    this.dr[6] = 0xffff0ff0 | 0;
    this.dr[7] = 0x400;
    for (let s = 0; s < 6; s++) setSegCache(this, s, 0, 0, 0xffff, 0x93);
    setSegCache(this, S_CS, 0xf000, 0xffff0000 | 0, 0xffff, 0x9b);
    setSegCache(this, S_LDTR, 0, 0, 0xffff, 0x82);
    setSegCache(this, S_TR, 0, 0, 0xffff, 0x8b);
    this.gdtBase = 0;
    this.gdtLimit = 0xffff;
    this.idtBase = 0;
    this.idtLimit = 0xffff;
    this.sysenterCs = 0;
    this.sysenterEsp = 0;
    this.sysenterEip = 0;
    this.tscOffset = 0;
    this.halted = false;
    this.shutdown = false;
    this.shadow = 0;
    this.tfArmed = false;
    this.stopRequested = false;
    this.pfx = 1;
    this.events = 1;
    this.shutdownReason = '';
    tlbFlush(this, false);
    tlbSelect(this);
    if (this.blocks !== null) {
      this.blocks.flush();
      this.blocks.restartWarmup(this.instructionsRetired);
    }
    if (this.jit !== null) {
      this.jit.flush();
      this.jit.restartWarmup();
    }
    setEipRaw(this, 0xfff0);
    if (this.fpu !== null) this.fpu.reset();
  }

  // ------------------------------------------------------------------ run loop

  run(budget: number): StopReason {
    if (this.shutdown) return StopReason.Shutdown;
    refreshViews(this);
    this.stopReason = STOP_BUDGET;
    this.events = 1;
    this.runRetired = 0;
    if (!blockTierWarmedUp && this.blocks !== null && this.jit === null && this.instructionsRetired >= this.blocks.startAt) prewarmBlockTier();
    this.instructionsRetired += execute(this, budget);
    this.runRetired = 0;
    if (this.jit !== null) this.jit.compilePending();
    return this.stopReason as StopReason;
  }

  /**
   * Retired instructions including those of a run() in progress (exact when
   * read from a host callback such as a port read or RDTSC): the base of the
   * instruction-count clock, which must not stand still within a run.
   */
  liveInstructionCount(): number {
    return this.instructionsRetired + this.runRetired;
  }

  setInterruptLine(raised: boolean): void {
    this.intLine = raised;
    if (raised) this.events = 1;
  }

  requestStop(): void {
    this.stopRequested = true;
    this.events = 1;
  }

  // ------------------------------------------------------------------ registers

  getReg32(r: Reg): number { return this.regs[r] >>> 0; }
  setReg32(r: Reg, v: number): void { this.regs[r] = v | 0; }
  getEip(): number { return getEip(this) >>> 0; }
  setEip(v: number): void { setEipRaw(this, v); }

  getEflags(): number { return readEflags(this) >>> 0; }
  setEflags(v: number): void {
    materialize(this);
    this.flags = (v & 0x3f7fd7) | 2;
    tlbSelect(this);
    this.events = 1;
  }

  getCr(n: 0 | 2 | 3 | 4): number {
    switch (n) {
      case 0: return this.cr0 >>> 0;
      case 2: return this.cr2 >>> 0;
      case 3: return this.cr3 >>> 0;
      default: return this.cr4 >>> 0;
    }
  }

  /** Writes a control register as MOV CRn would (flushing the TLB as needed). Invalid values throw a RangeError. */
  setCr(n: 0 | 2 | 3 | 4, v: number): void {
    try {
      switch (n) {
        case 0: {
          const wasPe = this.pe;
          writeCr0(this, v | 0);
          if (wasPe === 0 && this.pe !== 0) this.cpl = this.segSel[S_CS] & 3;
          tlbSelect(this);
          break;
        }
        case 2: this.cr2 = v | 0; break;
        case 3: writeCr3(this, v | 0); break;
        default: writeCr4(this, v | 0); break;
      }
    } catch (e) {
      if (e === GUEST_FAULT) throw new RangeError(`setCr(${n}, 0x${hex(v)}): the CPU would raise #GP`, { cause: e });
      throw e;
    }
  }

  getSegment(s: Seg): { selector: number; base: number; limit: number; flags: number } {
    return { selector: this.segSel[s], base: this.segBase[s] >>> 0, limit: this.segLimit[s] >>> 0, flags: this.segFlags[s] };
  }

  /** Loads the hidden cache directly. Loading CS in protected mode sets CPL to the selector's RPL. */
  setSegment(s: Seg, selector: number, base: number, limit: number, flags: number): void {
    setSegCache(this, s, selector, base, limit, flags);
    if (s === S_CS) {
      this.cpl = this.pe !== 0 ? selector & 3 : 0;
      tlbSelect(this);
    }
  }

  setGdtr(base: number, limit: number): void { this.gdtBase = base | 0; this.gdtLimit = limit & 0xffff; }
  setIdtr(base: number, limit: number): void { this.idtBase = base | 0; this.idtLimit = limit & 0xffff; }
  /** LDTR / TR caches (bootloaders and tests; same flag layout as setSegment). */
  setLdtr(selector: number, base: number, limit: number, flags: number): void { setSegCache(this, S_LDTR, selector, base, limit, flags); }
  setTr(selector: number, base: number, limit: number, flags: number): void { setSegCache(this, S_TR, selector, base, limit, flags); }

  /** Drop cached translations (and, since frames may have changed owners, compiled code). */
  flushTlb(): void {
    tlbFlush(this, false);
    if (this.blocks !== null) this.blocks.flush();
    if (this.jit !== null) this.jit.flush();
  }

  /** The host wrote guest memory behind the CPU's back (loader, DMA, test harness): drop decoded blocks and compiled code. */
  invalidateCode(): void {
    if (this.blocks !== null) this.blocks.flush();
    if (this.jit !== null) this.jit.flush();
  }

  /**
   * Switch the interpreter's decoded-block tier (block-cache.ts) on or off
   * (on by default, after BLOCK_WARMUP instructions, on CPUs without a JIT).
   * Off, every instruction is decoded where it runs: the reference for tests
   * and benchmarks of the tier itself.
   */
  setBlockTier(on: boolean, options?: BlockTierOptions): void {
    this.blocks = on ? new BlockCache(options) : null;
    if (this.blocks !== null) this.blocks.restartWarmup(this.instructionsRetired);
  }

  /**
   * Attach the JIT tier (src/core/jit): `attach` builds it for this CPU. The
   * CPU itself does not depend on the JIT module; the machine wires it.
   */
  enableJit(attach: (core: CpuCore) => JitHooks): void {
    if (this.jit !== null) return;
    this.jit = attach(this);
  }

  // ------------------------------------------------------------------ debugger memory access

  /** Byte at a linear address through the current paging, or -1 when unmapped. No faults, no A/D updates. */
  readLinear8(addr: number): number {
    return debugRead8(this, addr);
  }

  readLinear16(addr: number): number {
    const a = this.readLinear8(addr);
    const b = this.readLinear8((addr + 1) | 0);
    return a < 0 || b < 0 ? -1 : a | (b << 8);
  }

  /** Unsigned dword, or -1 when any byte is unmapped. */
  readLinear32(addr: number): number {
    const lo = this.readLinear16(addr);
    const hi = this.readLinear16((addr + 2) | 0);
    return lo < 0 || hi < 0 ? -1 : (lo + hi * 65536);
  }

  /** Writes through the current paging; unmapped or read-only (with CR0.WP) addresses are ignored. */
  writeLinear8(addr: number, v: number): void {
    debugWrite8(this, addr, v);
  }

  writeLinear16(addr: number, v: number): void {
    this.writeLinear8(addr, v);
    this.writeLinear8((addr + 1) | 0, v >>> 8);
  }

  writeLinear32(addr: number, v: number): void {
    this.writeLinear16(addr, v);
    this.writeLinear16((addr + 2) | 0, v >>> 16);
  }

  // ------------------------------------------------------------------ snapshots

  saveState(): CpuState {
    // The x87 state may live in the JIT's frame of a memory that grew since the last run.
    refreshViews(this);
    const seg = (s: number): SegmentState => ({
      selector: this.segSel[s], base: this.segBase[s] >>> 0, limit: this.segLimit[s] >>> 0, flags: this.segFlags[s],
    });
    return {
      version: 1,
      regs: Array.from(this.regs.subarray(0, 8), (v) => v >>> 0),
      eip: this.getEip(),
      eflags: this.getEflags(),
      es: seg(0), cs: seg(1), ss: seg(2), ds: seg(3), fs: seg(4), gs: seg(5), ldtr: seg(6), tr: seg(7),
      gdtr: { base: this.gdtBase >>> 0, limit: this.gdtLimit },
      idtr: { base: this.idtBase >>> 0, limit: this.idtLimit },
      cr0: this.cr0 >>> 0, cr2: this.cr2 >>> 0, cr3: this.cr3 >>> 0, cr4: this.cr4 >>> 0,
      dr: Array.from(this.dr, (v) => v >>> 0),
      cpl: this.cpl,
      sysenterCs: this.sysenterCs, sysenterEsp: this.sysenterEsp >>> 0, sysenterEip: this.sysenterEip >>> 0,
      tscOffset: this.tscOffset,
      halted: this.halted,
      shutdown: this.shutdown,
      interruptLine: this.intLine,
      interruptShadow: this.shadow,
      singleStepPending: this.tfArmed,
      instructionsRetired: this.instructionsRetired,
      fpu: this.fpu !== null ? this.fpu.saveState() : null,
    };
  }

  restoreState(st: CpuState): void {
    if (st.version !== 1) throw new Error(`CpuState version ${String(st.version)} is not supported`);
    refreshViews(this);
    for (let i = 0; i < 8; i++) this.regs[i] = st.regs[i] | 0;
    this.cr0 = st.cr0 | 0;
    this.pe = this.cr0 & 1;
    this.cr2 = st.cr2 | 0;
    this.cr3 = st.cr3 | 0;
    this.cr4 = st.cr4 | 0;
    for (let i = 0; i < 8; i++) this.dr[i] = st.dr[i] | 0;
    SEG_NAMES.forEach((name, s) => {
      const g = st[name];
      setSegCache(this, s, g.selector, g.base, g.limit, g.flags);
    });
    this.gdtBase = st.gdtr.base | 0;
    this.gdtLimit = st.gdtr.limit;
    this.idtBase = st.idtr.base | 0;
    this.idtLimit = st.idtr.limit;
    this.cpl = st.cpl;
    this.lop = 0;
    this.flags = (st.eflags & 0x3f7fd7) | 2;
    this.sysenterCs = st.sysenterCs;
    this.sysenterEsp = st.sysenterEsp | 0;
    this.sysenterEip = st.sysenterEip | 0;
    this.tscOffset = st.tscOffset;
    this.halted = st.halted;
    this.shutdown = st.shutdown;
    this.intLine = st.interruptLine;
    this.shadow = st.interruptShadow === 2 ? 2 : st.interruptShadow ? 1 : 0;
    this.tfArmed = st.singleStepPending;
    this.instructionsRetired = st.instructionsRetired;
    this.pfx = 1;
    this.events = 1;
    tlbFlush(this, false);
    tlbSelect(this);
    setEipRaw(this, st.eip);
    if (this.fpu !== null && st.fpu !== null) this.fpu.restoreState(st.fpu);
  }
}
