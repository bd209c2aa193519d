/**
 * CpuCore: every field of the CPU, architectural and cached, in one flat
 * class so that V8 gives all the free functions in the other cpu/ modules a
 * single monomorphic object shape. No behaviour lives here beyond allocation;
 * the public API is `Cpu` in cpu.ts, which extends this class.
 *
 * Conventions:
 *  - 32-bit values are kept as int32 (`| 0`); compare unsigned with `>>> 0`.
 *  - Segment caches are indexed by the S_* numbers (ES..GS, then LDTR, TR).
 *  - The six arithmetic flags are lazy (flags.ts): when `lop !== 0` the
 *    CF/PF/AF/ZF/SF/OF bits of `flags` are stale and are derived from
 *    lop/ldst/lsrc/lres/lsz/lcin.
 *  - Instruction fetch uses a host pointer `fp` into `mem8` that is valid up
 *    to `fpEnd` (end of the page or of the CS limit); EIP = fp + fpEipBase.
 */
import type { BlockCache } from './block-cache.ts';
import type { CpuHost } from './host.ts';
import type { FpuUnit } from './fpu/fpu-host.ts';
import { F_FIXED1 } from './constants.ts';
import { DOUBLE_ZERO } from '../util/number-fields.ts';

export const TLB_BITS = 12;
export const TLB_SIZE = 1 << TLB_BITS;
export const TLB_MASK = TLB_SIZE - 1;

/**
 * What the interpreter and the page walker need from the JIT tier
 * (src/core/jit/jit.ts implements it; an interface so cpu/ does not import jit/).
 */
/**
 * The JIT's block table is indexed by a hash of the host offset; the
 * interpreter computes it inline at every instruction boundary:
 * `Math.imul(p, JIT_HASH_MULTIPLIER) >>> (32 - JIT_HASH_SHIFT)`, the top bits
 * of p * 2^32/phi. Two-way: a block lives in slot h or its neighbour h ^ 1.
 * (The earlier p ^ (p >>> 17) sent the same offset of frames F and F + 32 to
 * one slot pair whenever F >>> 5 was even: in the sort benchmark, blocks of
 * kernel and vDSO pages kept evicting each other, ~100,000 returns to JS per
 * run.)
 */
export const JIT_HASH_SHIFT = 17;
export const JIT_HASH_SIZE = 1 << JIT_HASH_SHIFT;
export const JIT_HASH_MULTIPLIER = 0x9e3779b1 | 0;
/** JitHooks.threshold while the JIT warms up (see jit.ts): the interpreter then runs without it. */
export const JIT_WARMING = 0xffff;

export interface JitHooks {
  /** Block start (host offset) per hash slot, -1 when empty: the interpreter checks both ways of a slot pair inline. */
  readonly keys: Int32Array;
  /** Visit counters per hash slot (the interpreter increments them inline). */
  readonly hot: Uint16Array;
  /** Visits before compiling; may change between runs (the interpreter reads it when a run starts). */
  readonly threshold: number;
  /** Called when slot pair `h` (h, h ^ 1) holds `p` or `h` has become hot: runs compiled code (returns instructions retired) or returns -1. */
  enter(h: number, p: number, left: number, done: number): number;
  /** A write to pool frame `frame` is about to be permitted. */
  noteWrite(frame: number): void;
  /** Forget all compiled code. */
  flush(): void;
  /** The CPU was reset: boot code follows, which is not worth compiling (the warm-up starts again). */
  restartWarmup(): void;
  /** Compile blocks that became hot during the run that just ended. */
  compilePending(): void;
  /** The host buffer was replaced. */
  refreshViews(): void;
  /** Instructions a block completed before the instruction whose fault is being delivered. */
  faultDone: number;
}

export class CpuCore {
  readonly host: CpuHost;
  fpu: FpuUnit | null;

  // --- general registers ---
  /** EAX..EDI; regs[8] is always 0, the block tier's "no register" (an address needs no branch for a missing base or index). */
  readonly regs = new Int32Array(9);

  // --- segment caches (ES CS SS DS FS GS LDTR TR) ---
  readonly segSel = new Int32Array(8);
  readonly segBase = new Int32Array(8);
  /** Byte-granular limit (already scaled by G), as int32: -1 means 0xFFFFFFFF. */
  readonly segLimit = new Int32Array(8);
  /** Access byte | flags nibble << 8 (0 = unusable / null). */
  readonly segFlags = new Int32Array(8);
  /** 1 when any read (resp. write) through this segment needs no check at all (flat, usable). */
  readonly segOkR = new Int32Array(6);
  readonly segOkW = new Int32Array(6);
  /**
   * For the block tier, as bits: bit s = segOkR[s] and base 0, bit 6 + s =
   * segOkW[s] and base 0, bit 12 = ss32 (SEG_OK_SS32). Blocks take no
   * segment override, so their fast paths see DS and SS only: flat and
   * zero-based for Linux in both rings.
   */
  segOkBits = 0;
  gdtBase = DOUBLE_ZERO;
  gdtLimit = 0;
  idtBase = DOUBLE_ZERO;
  idtLimit = 0;

  // --- mode ---
  cpl = 0;
  /** CR0.PE as 0/1 (protected mode). */
  pe = 0;
  /** CS.D: default operand/address size of the code segment. */
  cs32 = false;
  /** SS.B: 32-bit stack pointer. */
  ss32 = false;

  // --- control / debug registers ---
  cr0 = DOUBLE_ZERO;
  cr2 = DOUBLE_ZERO;
  cr3 = DOUBLE_ZERO;
  cr4 = 0;
  readonly dr = new Int32Array(8);

  // --- MSRs ---
  sysenterCs = 0;
  sysenterEsp = DOUBLE_ZERO;
  sysenterEip = DOUBLE_ZERO;
  /** Added to host.readTsc() (WRMSR 0x10 / snapshots). */
  tscOffset = DOUBLE_ZERO;

  // --- EFLAGS and lazy flags (flags.ts) ---
  flags = F_FIXED1;
  lop = 0;
  ldst = DOUBLE_ZERO;
  lsrc = DOUBLE_ZERO;
  lres = DOUBLE_ZERO;
  /** Operand size of the lazy op: 0 = 8, 1 = 16, 2 = 32 bits. */
  lsz = 0;
  /** Carry-in (ADC/SBB), preserved CF (INC/DEC), or CF | OF << 1 (shift/mul kinds). */
  lcin = 0;

  // --- instruction fetch (fetch.ts) ---
  fp = 0;
  fpEnd = 0;
  fpStart = 0;
  fpEipBase = DOUBLE_ZERO;
  /** EIP of the instruction being executed (faults restart here). */
  eipStart = DOUBLE_ZERO;

  // --- per-instruction decode state (decoder.ts) ---
  /** Non-zero when the last instruction had prefixes, so they must be reset. */
  pfx = 0;
  o32 = false;
  a32 = false;
  /** Segment override (S_*) or -1. */
  segOvr = -1;
  /** 0, 0xF2 (REPNE) or 0xF3 (REP/REPE). */
  rep = 0;
  lock = false;
  /** Effective address offset and segment of the current memory operand. */
  ea = DOUBLE_ZERO;
  eaSeg = 0;
  /** The SIB base of the last decoded address was ESP (POP r/m quirk). */
  sibBaseEsp = false;
  prefixCount = 0;

  // --- memory views and software TLB (tlb.ts, paging.ts) ---
  mem8: Uint8Array;
  dv: DataView;
  bufGen = -1;
  /** host.bufferGeneration (see refreshViews). */
  readonly bufGenCell: Int32Array;
  /** Virtual page held by each TLB slot, -1 when empty. */
  readonly tlbVpage = new Int32Array(TLB_SIZE).fill(-1);
  /** Tags (vpage | epoch key) per access kind; a slot is usable iff its tag equals vpage | tlbKey. */
  tlbRdSys: Int32Array<ArrayBufferLike> = new Int32Array(TLB_SIZE);
  tlbWrSys: Int32Array<ArrayBufferLike> = new Int32Array(TLB_SIZE);
  tlbRdUsr: Int32Array<ArrayBufferLike> = new Int32Array(TLB_SIZE);
  tlbWrUsr: Int32Array<ArrayBufferLike> = new Int32Array(TLB_SIZE);
  /** Never matches: selected while alignment checking forces every user access onto the slow path. */
  readonly tlbNone = new Int32Array(TLB_SIZE);
  /** host offset - linear page base, so host = lin + delta. */
  tlbDelta: Int32Array<ArrayBufferLike> = new Int32Array(TLB_SIZE);
  readonly tlbGlobal = new Uint8Array(TLB_SIZE);
  readonly tlbGlobalList = new Int32Array(TLB_SIZE);
  tlbGlobalCount = 0;
  /** Current epoch << 20 (set in the constructor); bumping it invalidates every slot at once. */
  tlbKey = DOUBLE_ZERO;
  /** The tag arrays for the current privilege (user or supervisor). */
  tlbRd: Int32Array<ArrayBufferLike>;
  tlbWr: Int32Array<ArrayBufferLike>;
  /** Physical address of the last translate() that could not be cached (frame -1). */
  physAddr = DOUBLE_ZERO;
  /** CR0.AM && EFLAGS.AC && CPL 3: alignment checks are on. */
  acActive = false;

  /** The JIT tier, when enabled (Cpu.enableJit). */
  jit: JitHooks | null = null;
  /** The interpreter's decoded-block tier (block-cache.ts); null when switched off (Cpu.setBlockTier). */
  blocks: BlockCache | null = null;

  // --- exceptions (exceptions.ts) ---
  excVector = -1;
  /** Error code, or -1 when the vector pushes none. */
  excCode = -1;
  /** The exception is a trap: EIP already points after the instruction. */
  excTrap = false;
  trapExceptions = false;
  exceptionVector = -1;
  exceptionErrorCode = -1;
  shutdownReason = '';

  // --- events between instructions (interrupts.ts) ---
  /** Non-zero: the run loop must look at interrupts / stops / single-step before the next instruction. */
  events = 0;
  intLine = false;
  stopRequested = false;
  /** 0, SHADOW_STI (interrupts wait one instruction) or SHADOW_MOV_SS (interrupts and debug traps wait). */
  shadow = 0;
  /**
   * Instructions retired so far in the current run() (kept current before each
   * handler call), so a clock that counts instructions is exact mid-run.
   */
  runRetired = 0;
  /** Single-step trap pending after the current instruction. */
  tfArmed = false;
  halted = false;
  /** Triple fault happened: run() returns Shutdown until reset(). */
  shutdown = false;
  stopReason = 0;
  instructionsRetired = DOUBLE_ZERO;

  // --- scratch for descriptor reads (avoid allocating) ---
  descLo = DOUBLE_ZERO;
  descHi = DOUBLE_ZERO;

  constructor(host: CpuHost, fpu: FpuUnit | null) {
    this.host = host;
    this.fpu = fpu;
    this.mem8 = new Uint8Array(host.buffer);
    this.dv = new DataView(host.buffer);
    this.bufGenCell = host.bufferGeneration;
    this.bufGen = this.bufGenCell[0]!;
    this.tlbRd = this.tlbRdSys;
    this.tlbWr = this.tlbWrSys;
    this.tlbKey = 1 << 20;
  }
}
