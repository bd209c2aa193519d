/**
 * The JIT tier: finds hot code, translates it into WebAssembly blocks
 * (block-decoder.ts, translator.ts), runs them from the interpreter's loop
 * and keeps them correct.
 *
 * - Hotness: a counter per hash slot of an instruction's host offset in the
 *   pool. The interpreter checks the slot pair inline at every instruction boundary; after
 *   `threshold` visits the address becomes an entry of its page's region.
 *   Nothing counts during the warm-up (the first DEFAULT_WARMUP instructions: the boot).
 * - Regions: all hot entries of one code page (and mode), plus the blocks
 *   reachable from them on that page, form one WebAssembly function with a
 *   br_table dispatch (translator.ts), so loops and branches between blocks
 *   of a page never leave WebAssembly. A region is recompiled when it gains
 *   an entry. Regions are compiled in batches (one module each batch: a
 *   module has a high fixed cost) at the end of each run() and whenever
 *   BATCH regions wait.
 * - Cache key: host offset (= physical page + offset, so two processes
 *   sharing a page share its blocks), plus the virtual EIP the code was
 *   compiled for (CALL pushes and branch targets are absolute), plus the
 *   mode (CPL selects the TLB tags; only flat 32-bit protected mode is
 *   translated at all).
 * - Invalidation: a frame holding translated code loses its write
 *   permissions in the TLB, so every write to it takes the slow path, whose
 *   page walk (paging.ts) calls `noteWrite`: all blocks of the frame are
 *   dropped (and a running block stops after the current instruction).
 *   Frames rewritten over and over stop being compiled. Mapping changes
 *   (balloon, restore) and reset flush everything.
 * - Bounded memory: at most MAX_BLOCKS live blocks; when full the whole cache
 *   is flushed (simple, and hot code comes back within a few thousand
 *   instructions).
 * - Precise faults: a slow path that throws a guest fault leaves the
 *   registers, lazy flags and the faulting instruction's EIP in the state
 *   frame; `enter` copies them back before the interpreter delivers it.
 */
import type { CpuCore, JitHooks } from '../cpu/state.ts';
import { JIT_HASH_MULTIPLIER, JIT_HASH_SHIFT, JIT_HASH_SIZE, JIT_WARMING as WARMING, TLB_SIZE } from '../cpu/state.ts';
import { GUEST_FAULT } from '../cpu/exceptions.ts';
import { materialize } from '../cpu/flags.ts';
import { escape, fwait, fxsaveRestore } from '../cpu/fpu-glue.ts';
import { stringOp } from '../cpu/string-ops.ts';
import { readLin8, readLin16, readLin32, writeLin8, writeLin16, writeLin32, probeWriteLin } from '../cpu/memory.ts';
import { loadSeg } from '../cpu/segmentation.ts';
import { resetPrefixes } from '../cpu/decoder.ts';
import { loadSysenterSegments, loadSysexitSegments, movToCr, rdtsc } from '../cpu/system-ops.ts';
import { revokeFrameWrites, setEipRaw, tlbSelect } from '../cpu/tlb.ts';
import { grownUint8 } from '../util/grow.ts';
import { walkForFetch } from '../cpu/paging.ts';
import { CR0_EM, CR0_TS, F_AC, F_IF, F_TF, S_CS, S_DS, S_ES, S_GS, S_SS } from '../cpu/constants.ts';
import { decodeBlock, blockWeight, BlockEnd, MAX_BLOCK, type Insn } from './block-decoder.ts';
import { emitFlagsHelper, FLAGS_HELPER_LOCALS } from './flags-helper.ts';
import { warmUpX87Helpers } from './x87-warmup.ts';
import { X87_HELPER_PARAMS, x87HelperModule, x87HelperName } from './x87-emit.ts';
import { translateRegion, EXIT_STALE, SLOW_IMPORTS, STRING_REGS, STR_MOVE_O16, SlowType, StrMoveResult, SysOp } from './translator.ts';
import { buildModule, FunctionBody, I32, Op, type FuncType, type ModuleSpec } from './wasm-emitter.ts';
import { emitPageTag, emitTlbSlot } from './tlb-emit.ts';
import {
  ST_EIP, ST_LOP, ST_LDST, ST_LSRC, ST_LRES, ST_LSZ, ST_LCIN, ST_FLAGS, ST_TLBKEY, ST_FAULT_EIP, ST_FAULT_DONE, ST_EXIT_REQ, ST_CHAIN_DONE, ST_GS_BASE, ST_GS_OK,
  ST_X87_OK, ST_SEGSEL, ST_X87, ST_INT_LINE, ST_SYS_OUT, ST_RUN_MODE, ST_RUN_TLBRD, ST_REGION_BASE, SITE_DONE_BITS, SITE_DONE_MASK, ST_SPLIT, SPLIT_SLOTS, splitSlot,
  TLB_RD_SYS, TLB_WR_SYS, TLB_RD_USR, TLB_WR_USR, TLB_DELTA, TLB_FRAMES, TLB_FRAMES_PER_ARRAY,
  CHAIN_FRAMES, CHAIN_SIZE, CHAIN_ENTRY_EIP, CHAIN_ENTRY_P, CHAIN_ENTRY_INFO, CHAIN_MAX_BLOCKS, CHAIN_MAX_TABLES,
  chainSlot, chainInfo, chainWay, ChainWay, CHAIN_BITS, CHAIN_HASH_MULTIPLIER,
} from './layout.ts';

/** The module type index of each import signature (the `types` list in compilePending). */
const IMPORT_TYPE: Readonly<Record<SlowType, number>> = { [SlowType.Read]: 4, [SlowType.Write]: 6, [SlowType.X87]: 5, [SlowType.StrMove]: 6, [SlowType.Sys]: 5 };
/** The function types of every region module, by index (IMPORT_TYPE, the region functions' type 1, the flags helper's type 2). */
const MODULE_TYPES: FuncType[] = [
  { params: [I32], results: [I32] },
  { params: [I32, I32], results: [I32] },
  { params: [I32, I32, I32, I32, I32, I32, I32], results: [I32] },
  { params: [I32, I32, I32, I32], results: [] },
  { params: [I32, I32, I32], results: [I32] },
  { params: [I32, I32, I32, I32, I32], results: [I32] },
  { params: [I32, I32, I32, I32], results: [I32] },
  { params: [I32, I32, I32, I32, I32, I32], results: [I32] },
];
/** The type index of an (i32 x n) -> i32 function in MODULE_TYPES (the x87 helpers' signatures). */
function i32FunctionType(n: number): number {
  const k = MODULE_TYPES.findIndex((t) => t.results.length === 1 && t.params.length === n && t.params.every((p) => p === I32));
  if (k < 0) throw new Error(`jit: no module type for ${n} i32 parameters`);
  return k;
}

export interface JitOptions {
  /** Visits before a block is compiled (0: compile on first sight, for tests). */
  threshold?: number;
  /**
   * Compile nothing until the CPU has retired this many instructions (its
   * instructionsRetired, which a snapshot keeps). Default DEFAULT_WARMUP;
   * 0 when `threshold` is 0.
   */
  warmupInstructions?: number;
  /** Most live compiled blocks before the cache is flushed. */
  maxBlocks?: number;
  /** Guest instructions after which a region's generation stops taking blocks (until it is rebuilt whole). Default GENERATION_INSNS. */
  generationInsns?: number;
}

export interface JitStats {
  compiled: number;
  live: number;
  flushes: number;
  invalidations: number;
  blockRuns: number;
  instructions: number;
  compileMs: number;
  /** MOVS/STOS that went through the `strMove` import (the rest ran inline: translator.ts stringMove). */
  stringImports: number;
  /** x87 instructions run through the `x87` import (the interpreter's code) rather than a helper in WebAssembly. */
  x87Imports: number;
  /** CALLs to a PC thunk compiled to run the thunk in place (translator.ts callPcThunk). */
  pcThunkCalls: number;
  /** CALLs to a PLT entry compiled to go on through the GOT slot (translator.ts callPlt). */
  pltCalls: number;
  /** Regions compiled again as one function because their small generations called each other often (checkSplits). */
  rebuilds: number;
}

/**
 * Boot code runs briefly: its loops reach any visit threshold, but compiling
 * them costs more than it saves (the default image's boot took 6.2 s with
 * the JIT from the start against 1.0 s interpreted). Nothing is compiled
 * before this many instructions; the default image boots in 16.4 M.
 */
const DEFAULT_WARMUP = 25_000_000;
/** Invalidations after which a frame is treated as data that happens to hold code, and no longer compiled. */
const MAX_FRAME_INVALIDATIONS = 16;
/** Mode values stored per block: 0 = not translatable, 1 = supervisor (CPL 0), 2 = user (CPL 3). */
const MODE_NONE = 0;

const SLOT_EMPTY = 0;
const SLOT_COMPILED = 2;
/** Regions compiled per module. */
const BATCH = 16;
/** Host ms a batch may wait for the end of run() before an entry that gets hot again compiles it (a run normally takes ~1 ms). */
const BATCH_WAIT_MS = 10;
/** Limits per region: blocks per generation, and generations (compiles for new entries). */
const MAX_REGION_BLOCKS = 48;
const MAX_REGION_GENERATIONS = 32;
/**
 * Small first generations (off by default): with a finite cap, a generation
 * stops taking blocks once it holds this many guest instructions, and
 * regions are rebuilt whole when their generations call each other often or
 * use up all 32 (checkSplits, addEntry). V8's optimising compile time grows
 * with the square of a function's size, and until it is done the function
 * runs baseline code many times slower. A cap of 120 made c-x87 and c-mem
 * 20-30% faster in Node, but in Chromium, with all workloads in one VM,
 * most workloads were slower and much less steady (sort 8.2-8.4 s ->
 * 8.8-11.7 s, tvb-int 0.39-0.49 s -> 0.41-0.82 s; README.md).
 */
const GENERATION_INSNS = Infinity;
/**
 * Runs (compilePending calls, ~1 ms each) between two looks at the split
 * counters, and the chained calls within one page in that time that get its
 * region rebuilt whole. A rebuilt region is one big function whose
 * optimising compile (quadratic in size) holds up V8's queue for the code
 * that runs next: in Chromium, with all workloads in one VM, a threshold of
 * 50,000 made later programs slower (sort 9.2-9.4 s, tvb-int 0.69-0.83 s;
 * 5,000 every 16 runs: 10.5 s, 0.99 s; 200,000: 9.0 s, 0.50 s).
 */
const SPLIT_CHECK_RUNS = 64;
const SPLIT_REBUILD_CALLS = 200_000;
/** Blocks per generation of a rebuilt region (its hot code did not fit in small generations). */
const REBUILT_REGION_BLOCKS = 128;

interface Region {
  key: number;
  /** Host offset of the page start, and the guest EIP it had when the region was built. */
  pageP: number;
  pageEip: number;
  end: number;
  mode: number;
  /** Hot entries not compiled yet. */
  entries: Set<number>;
  /** Host offsets of the blocks compiled so far, in any generation. */
  compiled: Set<number>;
  /** One function per generation: a new generation holds only blocks not compiled before, so nothing is ever recompiled. */
  tables: number[];
  dirty: boolean;
  compiles: number;
  /** Hash slots of its blocks (cleared on invalidation). */
  slots: number[];
  /**
   * Compiled blocks that lost their hash slot to another block (evict), by
   * host offset: their code is still in the region's functions, so when one
   * is hot again it gets a slot back without compiling (reinstate).
   */
  parked: Map<number, ParkedBlock>;
  /** Compiled again as one function (no instruction cap) because its generations called each other often. */
  rebuilt: boolean;
}

interface ParkedBlock {
  eip: number;
  length: number;
  table: number;
  block: number;
}

/** Frames the JIT needs from the memory pool: the state frame, the TLB arrays and the chain cache. */
export const JIT_FRAMES = 1 + TLB_FRAMES + CHAIN_FRAMES;
const CHAIN_FRAME0 = 1 + TLB_FRAMES;

export class Jit implements JitHooks {
  faultDone = 0;
  /** Developer hook (lockstep debugging): called after every region run with the entry EIP and the instruction count reached. */
  trace: ((eipIn: number, retiredAfter: number) => void) | null = null;
  /** Regions call each other through the chain cache (off: every region exit returns to JS; for A/B measurements and debugging). */
  chaining = true;
  readonly stats: JitStats = { compiled: 0, live: 0, flushes: 0, invalidations: 0, blockRuns: 0, instructions: 0, compileMs: 0, stringImports: 0, x87Imports: 0, pcThunkCalls: 0, pltCalls: 0, rebuilds: 0 };

  /** Visits before compiling (the interpreter reads it at each run; WARMING until the warm-up ends). */
  threshold: number;
  private readonly hotThreshold: number;
  /** Instructions of each warm-up (at creation and after every CPU reset). */
  private readonly warmupLength: number;
  /** The CPU's instructionsRetired at which the current warm-up ends. */
  private warmupEnd: number;
  private readonly maxBlocks: number;
  private readonly generationInsns: number;
  /** generationInsns is finite: regions get rebuilt whole (checkSplits, addEntry) and the dispatcher counts split crossings. */
  private readonly smallGenerations: boolean;
  /** Regions of more than one generation, not rebuilt yet: rebuilt whole when their generations call each other often (checkSplits). */
  private readonly splitCandidates = new Set<Region>();
  private runsSinceSplitCheck = 0;
  // The block table: per hash slot (two ways per hash, see JIT_HASH_SHIFT) the block's host offset,
  // EIP, mode, length and where its code is (funcref table index, block index in that function).
  readonly keys = new Int32Array(JIT_HASH_SIZE).fill(-1);
  private readonly eips = new Int32Array(JIT_HASH_SIZE);
  private readonly modes = new Uint8Array(JIT_HASH_SIZE);
  private readonly lengths = new Uint8Array(JIT_HASH_SIZE);
  private readonly slotState = new Uint8Array(JIT_HASH_SIZE);
  private readonly slotTable = new Uint16Array(JIT_HASH_SIZE);
  private readonly slotBlock = new Uint8Array(JIT_HASH_SIZE);
  readonly hot = new Uint16Array(JIT_HASH_SIZE);
  private readonly regions = new Map<number, Region>();
  private readonly dirty: Region[] = [];
  /** performance.now() when the oldest region in `dirty` joined it. */
  private dirtySinceMs = 0;
  private readonly freeTables: number[] = [];
  private nextTable = 0;
  /** Per pool frame: 1 while it holds compiled code. */
  private codeFrames: Uint8Array;
  private frameInvalidations: Uint8Array;
  private st: Int32Array;
  private bufferSeen: ArrayBufferLike;
  /** The x87 helpers (x87-emit.ts) are in `imports` once a module with floating-point code was compiled. */
  private x87Linked = false;
  /** The CPU's x87 unit keeps its state in the state frame (FpuUnit.home). */
  private readonly x87Homed: boolean;
  private readonly stateWord: number;
  private readonly imports: WebAssembly.Imports;
  private invalidatedDuringRun = false;
  private doneBase = 0;
  /** The mode (1 or 2) of the block runBlock entered: the `sys` import compares the CPU's mode with it after a segment load. */
  private runMode = 0;
  /** Compiled regions live in this table; `run` calls through it. */
  private readonly table: WebAssembly.Table;
  private readonly run: (table: number, block: number, budget: number) => number;
  /** Int32 index (into `st`) of chain cache entry 0's first word; entry k's is 4 words further per entry. */
  private readonly chainWord0: number;
  /** Chain slots filled since the last clear, so a clear touches only those; once CHAIN_SIZE fills were recorded, a clear empties every slot. */
  private readonly chainUsed = new Int32Array(CHAIN_SIZE);
  private chainUsedCount = 0;
  constructor(
    private readonly c: CpuCore,
    private readonly memory: WebAssembly.Memory,
    /** Host byte offsets of JIT_FRAMES zeroed 4 KiB frames in `memory`. */
    private readonly frames: number[],
    private readonly shared: boolean,
    options: JitOptions = {},
  ) {
    if (frames.length !== JIT_FRAMES) throw new Error(`jit: needs ${JIT_FRAMES} frames, got ${frames.length}`);
    for (let k = 1; k < JIT_FRAMES; k++) {
      if (frames[k] !== frames[0]! + k * 4096) throw new Error('jit: the frames must be consecutive (generated code indexes the TLB arrays and the chain cache directly)');
    }
    if (!Number.isInteger(TLB_FRAMES_PER_ARRAY)) throw new Error('jit: the TLB arrays must fill whole frames');
    if (MAX_REGION_BLOCKS > CHAIN_MAX_BLOCKS || REBUILT_REGION_BLOCKS > CHAIN_MAX_BLOCKS || MAX_BLOCK > 127) throw new Error('jit: region or block limits exceed the chain cache encoding');
    // High enough that run-once boot code stays interpreted (compiling a region costs milliseconds).
    this.hotThreshold = Math.min(options.threshold ?? 40, WARMING - 1);
    this.warmupLength = options.warmupInstructions ?? (this.hotThreshold === 0 ? 0 : DEFAULT_WARMUP);
    // Counted from 0: a machine restored from a snapshot (instructionsRetired far beyond) compiles at once.
    this.warmupEnd = this.warmupLength;
    this.threshold = c.instructionsRetired >= this.warmupEnd ? this.hotThreshold : WARMING;
    this.maxBlocks = options.maxBlocks ?? 32768;
    this.generationInsns = options.generationInsns ?? GENERATION_INSNS;
    this.smallGenerations = this.generationInsns !== Infinity;
    this.stateWord = frames[0]! >> 2;
    this.chainWord0 = frames[CHAIN_FRAME0]! >> 2;
    this.bufferSeen = memory.buffer;
    this.st = new Int32Array(memory.buffer);
    const maxFrames = Math.ceil(memory.buffer.byteLength / 4096);
    this.codeFrames = new Uint8Array(maxFrames);
    this.frameInvalidations = new Uint8Array(maxFrames);
    this.homeTlb(true);
    // The x87 helpers work on the state block in the state frame: only with an x87 unit that keeps its state there.
    this.x87Homed = c.fpu?.home !== undefined;
    c.fpu?.home?.(memory.buffer, frames[0]! + ST_X87, true);
    const cpu = c;
    const w = this.stateWord;
    // Slow paths never throw through WebAssembly: a guest fault is recorded
    // (EXIT_REQ = 2 plus its location) and the generated code leaves through
    // its fault exit with the state from before the faulting instruction.
    // Every slow path ends in (site, iter): the instruction's packed site (layout.ts packSite) and the
    // instructions of the region call's completed blocks; these give its EIP and the instructions before it.
    const siteEip = (site: number): number => (this.st[w + (ST_REGION_BASE >> 2)]! + (site >> SITE_DONE_BITS)) | 0;
    const siteDone = (site: number, iter: number): number => iter + (site & SITE_DONE_MASK);
    const fault = (e: unknown, eip: number, doneInBlock: number): number => {
      if (e !== GUEST_FAULT) throw e;
      const st = this.st;
      st[w + (ST_FAULT_EIP >> 2)] = eip;
      st[w + (ST_FAULT_DONE >> 2)] = st[w + (ST_CHAIN_DONE >> 2)]! + doneInBlock;
      st[w + (ST_EXIT_REQ >> 2)] = 2;
      return 0;
    };
    // The instruction clock of a slow path: instructions retired in this run up to its instruction
    // (`d` of them in the current region call), for RDTSC and timed devices.
    const clockAt = (d: number): void => {
      cpu.runRetired = this.doneBase + this.st[w + (ST_CHAIN_DONE >> 2)]! + d;
    };
    const after = (): void => {
      if (cpu.events !== 0 || this.invalidatedDuringRun) this.st[w + (ST_EXIT_REQ >> 2)] = 1;
    };
    const user = (): boolean => cpu.cpl === 3;
    const read = (size: number, rmw: boolean) => (lin: number, site: number, iter: number): number => {
      const d = siteDone(site, iter);
      clockAt(d);
      try {
        if (rmw) probeWriteLin(cpu, lin, size, user());
        const v = size === 1 ? readLin8(cpu, lin) : size === 2 ? readLin16(cpu, lin) : readLin32(cpu, lin);
        after();
        return v;
      } catch (e) {
        return fault(e, siteEip(site), d);
      }
    };
    // A write returns the exit request, which the generated code would otherwise load from the state frame.
    const write = (size: number) => (lin: number, v: number, site: number, iter: number): number => {
      const d = siteDone(site, iter);
      clockAt(d);
      try {
        if (size === 1) writeLin8(cpu, lin, v);
        else if (size === 2) writeLin16(cpu, lin, v);
        else writeLin32(cpu, lin, v);
        after();
      } catch (e) {
        fault(e, siteEip(site), d);
      }
      return this.st[w + (ST_EXIT_REQ >> 2)]!;
    };
    // x87 and FWAIT (translator.ts RegionTranslator.x87): the interpreter's
    // ESC path with the operand the generated code computed. The CPU's own
    // registers and flags are stale while a region runs (copyOut restores
    // them), so the flags image comes in as an argument and goes back as the
    // result; FNSTSW AX returns the status word instead.
    const x87 = (packed: number, offset: number, flags: number, site: number, iter: number): number => {
      const eip = siteEip(site);
      const d = siteDone(site, iter);
      this.stats.x87Imports++;
      clockAt(d);
      try {
        const op = packed & 0xff;
        cpu.eipStart = eip;
        if (op === 0x9b) {
          fwait(cpu);
        } else {
          const modrm = (packed >> 8) & 0xff;
          cpu.eaSeg = packed >>> 16;
          cpu.ea = offset;
          cpu.o32 = true;
          cpu.flags = flags;
          cpu.lop = 0;
          escape(cpu, op, modrm);
          if (op === 0xdf && modrm === 0xe0) flags = cpu.regs[0]! & 0xffff;
          else flags = cpu.flags;
        }
        after();
        return flags;
      } catch (e) {
        return fault(e, eip, d);
      }
    };
    // MOVS/STOS (translator.ts RegionTranslator.stringMove): the registers
    // they use come from the state frame and go back there; a fault is not
    // recorded but reported as Restart, with the registers as the
    // iterations before it left them.
    const strMove = (packed: number, flags: number, site: number, iter: number): number => {
      const eip = siteEip(site);
      const d = siteDone(site, iter);
      this.stats.stringImports++;
      clockAt(d);
      const st = this.st;
      const regs = cpu.regs;
      for (const r of STRING_REGS) regs[r] = st[w + r]!;
      cpu.eipStart = eip;
      cpu.o32 = (packed & STR_MOVE_O16) === 0;
      cpu.a32 = true;
      cpu.rep = (packed & 0x100) !== 0 ? 0xf3 : 0;
      cpu.segOvr = packed >> 16;
      cpu.flags = flags;
      cpu.lop = 0;
      let result: number = StrMoveResult.Done;
      try {
        stringOp(cpu, packed & 0xff);
        if (cpu.rep !== 0 && regs[1] !== 0) result = StrMoveResult.Chunk;
      } catch (e) {
        if (e !== GUEST_FAULT) throw e;
        result = StrMoveResult.Restart;
      }
      // The interpreter resets prefix state only after instructions that had prefixes.
      cpu.rep = 0;
      cpu.segOvr = -1;
      cpu.o32 = true;
      for (const r of STRING_REGS) st[w + r] = regs[r]!;
      after();
      return result;
    };
    // System instructions (translator.ts SysOp) run by the interpreter's
    // code; the registers they use come as arguments, results go back as the
    // return value and ST_SYS_OUT, and the state frame's copies of segment
    // state and the TLB key follow what they change.
    const sys = (packed: number, a: number, _b: number, site: number, iter: number): number => {
      const eip = siteEip(site);
      const d = siteDone(site, iter);
      clockAt(d);
      cpu.eipStart = eip;
      const st = this.st;
      let result = 0;
      try {
        const detail = packed >>> 8;
        switch ((packed & 0xff) as SysOp) {
          case SysOp.SegLoad:
            loadSeg(cpu, detail, a);
            st[w + (ST_SEGSEL >> 2) + detail] = cpu.segSel[detail]!;
            if (detail === S_GS) {
              st[w + (ST_GS_BASE >> 2)] = cpu.segBase[S_GS]!;
              st[w + (ST_GS_OK >> 2)] = cpu.segOkR[S_GS]! & cpu.segOkW[S_GS]!;
            }
            // DS or ES no longer flat: the region's code (which ignores them) must stop here.
            if (this.mode() !== this.runMode) st[w + (ST_EXIT_REQ >> 2)] = 1;
            break;
          case SysOp.Rdtsc:
            rdtsc(cpu);
            result = cpu.regs[0]!;
            st[w + (ST_SYS_OUT >> 2)] = cpu.regs[2]!;
            break;
          case SysOp.Cr3:
            movToCr(cpu, 3, a);
            st[w + (ST_TLBKEY >> 2)] = cpu.tlbKey;
            break;
          case SysOp.Fx:
            cpu.eaSeg = detail >>> 8;
            cpu.ea = a;
            fxsaveRestore(cpu, detail & 0xff);
            break;
          case SysOp.Sysenter:
            loadSysenterSegments(cpu);
            this.switchRunMode(1);
            result = cpu.sysenterEsp;
            st[w + (ST_SYS_OUT >> 2)] = cpu.sysenterEip;
            break;
          case SysOp.Sysexit:
            loadSysexitSegments(cpu);
            this.switchRunMode(2);
            break;
        }
        after();
        return result;
      } catch (e) {
        return fault(e, eip, d);
      }
    };
    const fns: Record<string, WebAssembly.ImportValue> = {
      rd8: read(1, false), rd16: read(2, false), rd32: read(4, false),
      wr8: write(1), wr16: write(2), wr32: write(4),
      rmw8: read(1, true), rmw32: read(4, true), rmw16: read(2, true),
      x87,
      strMove,
      sys,
    };
    this.table = new WebAssembly.Table({ element: 'anyfunc', initial: 256 });
    const imports: Record<string, WebAssembly.ImportValue> = { m: memory };
    for (const imp of SLOW_IMPORTS) imports[imp.name] = fns[imp.name]!;
    this.imports = { i: imports };
    // The dispatcher found no TLB entry for the page of the next region's
    // EIP (a data page took its slot): walk as the instruction fetch would,
    // so chaining goes on instead of a round trip through JS. Only when the
    // fetch cannot fault; the dispatcher checks the TLB again afterwards.
    const codeTlb = (eip: number): void => walkForFetch(cpu, eip);
    this.run = buildDispatcher(memory, shared, this.table, codeTlb, {
      state: frames[0]!,
      tlbDelta: this.tlbArray(TLB_DELTA),
      chain: frames[CHAIN_FRAME0]!,
      countSplits: this.smallGenerations,
    });
    this.chainUsedCount = CHAIN_SIZE; // the frames hold zeros, not "empty": clear every entry once
    this.clearChain();
  }

  /** Instantiates the x87 helpers over this JIT's memory and offers them as imports to the region modules. */
  private linkX87Helpers(): void {
    if (this.x87Linked) return;
    const helpers = new WebAssembly.Instance(x87HelperModule(this.frames[0]!, this.shared), { i: { m: this.memory } });
    warmUpX87Helpers(helpers.exports, this.memory, this.frames[0]!);
    const imports = this.imports['i'] as Record<string, WebAssembly.ImportValue>;
    X87_HELPER_PARAMS.forEach((_, k) => {
      imports[x87HelperName(k)] = helpers.exports[x87HelperName(k)] as WebAssembly.ExportValue;
    });
    this.x87Linked = true;
  }

  /** Host byte offset of TLB array `k` (TLB_RD_SYS ... TLB_DELTA). */
  private tlbArray(k: number): number {
    return this.frames[1 + k * TLB_FRAMES_PER_ARRAY]!;
  }

  /** Move the TLB tag and delta arrays into pool frames so generated code can read them. */
  private homeTlb(copy: boolean): void {
    const c = this.c;
    const buf = this.memory.buffer;
    // The first time the current contents move in; after a buffer swap the frames already hold them.
    const view = (k: number, old: Int32Array): Int32Array => {
      const a = new Int32Array(buf, this.tlbArray(k), TLB_SIZE);
      if (copy) a.set(old);
      return a;
    };
    c.tlbRdSys = view(TLB_RD_SYS, c.tlbRdSys);
    c.tlbWrSys = view(TLB_WR_SYS, c.tlbWrSys);
    c.tlbRdUsr = view(TLB_RD_USR, c.tlbRdUsr);
    c.tlbWrUsr = view(TLB_WR_USR, c.tlbWrUsr);
    c.tlbDelta = view(TLB_DELTA, c.tlbDelta);
    tlbSelect(c);
  }

  /** The pool's buffer was replaced (growth): re-create every view over it. */
  refreshViews(): void {
    const buf = this.memory.buffer;
    if (buf === this.bufferSeen) return;
    this.bufferSeen = buf;
    this.st = new Int32Array(buf);
    this.homeTlb(false);
    this.c.fpu?.home?.(buf, this.frames[0]! + ST_X87, false);
    const maxFrames = Math.ceil(buf.byteLength / 4096);
    if (maxFrames > this.codeFrames.length) {
      this.codeFrames = grownUint8(this.codeFrames, maxFrames);
      this.frameInvalidations = grownUint8(this.frameInvalidations, maxFrames);
    }
  }

  /** 1 (CPL 0) or 2 (CPL 3) when the CPU is in flat 32-bit protected mode the translator handles, else 0 (also CPL 1 and 2, which Linux never uses). */
  private mode(): number {
    const c = this.c;
    if (c.pe === 0 || !c.cs32 || !c.ss32 || c.acActive || c.pfx !== 0) return MODE_NONE;
    const ok = c.segOkR;
    const okW = c.segOkW;
    const base = c.segBase;
    if (ok[S_DS] === 0 || ok[S_SS] === 0 || ok[S_ES] === 0 || okW[S_DS] === 0 || okW[S_SS] === 0 || okW[S_ES] === 0) return MODE_NONE;
    if ((base[S_CS] | base[S_DS] | base[S_SS] | base[S_ES]) !== 0 || c.segLimit[S_CS] !== -1) return MODE_NONE;
    return c.cpl === 3 ? 2 : c.cpl === 0 ? 1 : MODE_NONE;
  }

  /**
   * Called by the interpreter before the instruction at host offset `p`:
   * runs the compiled block there if there is one that fits in `left`
   * instructions, and returns the instructions it retired; otherwise counts
   * the visit (compiling when hot) and returns -1.
   */
  enter(h: number, p: number, left: number, done: number): number {
    const c = this.c;
    const s = this.keys[h] === p ? h : this.keys[h ^ 1] === p ? h ^ 1 : -1;
    if (s >= 0 && this.slotState[s] === SLOT_COMPILED) {
      const eip = (p + c.fpEipBase) | 0;
      if (this.eips[s] === eip && this.lengths[s]! <= left && this.modes[s] === this.mode()) {
        this.chainAdd(s);
        return this.runBlock(s, left, done);
      }
      // Compiled for another virtual address of this frame (a page mapped at several, like the
      // vDSO in each process): the interpreter saw the key and did not count the visit. Count it,
      // or the frame's region would never be rebuilt for this address and the code would run
      // interpreted for good (in about half of the boots, the vDSO path that SYSEXIT returns to:
      // 1.4 M returns to JS per sort run instead of 0.07 M).
      if (this.eips[s] !== eip) this.hot[h]++;
    }
    if (this.hot[h]! <= this.threshold) return -1;
    this.hot[h] = 0;
    this.addEntry(p);
    if (this.threshold === 0) {
      // Tests force every instruction through generated code: compile now and run it.
      this.compilePending();
      const t = this.keys[h] === p ? h : this.keys[h ^ 1] === p ? h ^ 1 : -1;
      if (t >= 0 && this.slotState[t] === SLOT_COMPILED && this.lengths[t]! <= left && this.modes[t] === this.mode()) {
        return this.runBlock(t, left, done);
      }
    }
    return -1;
  }

  private runBlock(h: number, left: number, done: number): number {
    const c = this.c;
    const st = this.st;
    const w = this.stateWord;
    const regs = c.regs;
    for (let r = 0; r < 8; r++) st[w + r] = regs[r]!;
    st[w + (ST_TLBKEY >> 2)] = c.tlbKey;
    st[w + (ST_EXIT_REQ >> 2)] = 0;
    st[w + (ST_INT_LINE >> 2)] = c.intLine ? 1 : 0;
    materialize(c);
    const flagsIn = c.flags;
    st[w + (ST_FLAGS >> 2)] = flagsIn;
    st[w + (ST_LOP >> 2)] = 0;
    st[w + (ST_GS_BASE >> 2)] = c.segBase[S_GS]!;
    st[w + (ST_GS_OK >> 2)] = c.segOkR[S_GS]! & c.segOkW[S_GS]!;
    const sel = c.segSel;
    for (let s = 0; s < 6; s++) st[w + (ST_SEGSEL >> 2) + s] = sel[s]!;
    if (this.x87Linked) {
      // Read by the x87 helpers only.
      st[w + (ST_X87_OK >> 2)] = this.x87Homed && (c.cr0 & (CR0_EM | CR0_TS)) === 0 ? 1 : 0;
    }
    this.doneBase = done;
    this.invalidatedDuringRun = false;
    const mode = this.modes[h]!;
    this.runMode = mode;
    this.setRunMode(this.chaining ? mode : 0);
    const n = this.run(this.slotTable[h]!, this.slotBlock[h]!, left);
    if (this.st[w + (ST_EXIT_REQ >> 2)] === 2) {
      // A slow path raised a guest fault: registers and flags are those from before the faulting instruction.
      const s = this.st;
      this.copyOut(s, w);
      this.systemFlagsChanged(flagsIn);
      this.faultDone = s[w + (ST_FAULT_DONE >> 2)]!;
      c.eipStart = s[w + (ST_FAULT_EIP >> 2)]!;
      setEipRaw(c, c.eipStart);
      this.stats.instructions += this.faultDone;
      throw GUEST_FAULT;
    }
    const s = this.st;
    this.copyOut(s, w);
    this.systemFlagsChanged(flagsIn);
    const eip = s[w + (ST_EIP >> 2)]!;
    if (s[w + (ST_EXIT_REQ >> 2)] === EXIT_STALE) this.dropRegionAt(eip);
    const np = (eip - c.fpEipBase) | 0;
    if (np >= c.fpStart && np < c.fpEnd) c.fp = np;
    else setEipRaw(c, eip);
    this.stats.blockRuns++;
    this.stats.instructions += n;
    if (this.trace !== null) this.trace(this.eips[h]!, c.instructionsRetired + done + n);
    // Nothing retired: the code left before an instruction it cannot run now; the interpreter runs it.
    return n === 0 ? -1 : n;
  }

  /**
   * SYSENTER or SYSEXIT inside a run switched the CPL: the state frame's CS
   * and SS selectors follow, and the dispatcher chains on in the new mode
   * (if it chains at all) unless the CPU is not in a mode the JIT runs then
   * (a non-flat data segment; alignment checks at CPL 3): then JS takes over.
   */
  private switchRunMode(mode: number): void {
    const c = this.c;
    const w = this.stateWord;
    this.st[w + (ST_SEGSEL >> 2) + S_CS] = c.segSel[S_CS]!;
    this.st[w + (ST_SEGSEL >> 2) + S_SS] = c.segSel[S_SS]!;
    this.runMode = mode;
    // The CS load asked for the operand and address sizes to be derived again before the next instruction (segChanged): do it now.
    resetPrefixes(c);
    if (this.st[w + (ST_RUN_MODE >> 2)] !== 0) this.setRunMode(mode);
    if (this.mode() !== mode) this.st[w + (ST_EXIT_REQ >> 2)] = 1;
  }

  /** The mode the dispatcher chains in (0: no chaining), and the TLB read tags that check its code pages. */
  private setRunMode(mode: number): void {
    const w = this.stateWord;
    this.st[w + (ST_RUN_MODE >> 2)] = mode;
    this.st[w + (ST_RUN_TLBRD >> 2)] = this.tlbArray(mode === 2 ? TLB_RD_USR : TLB_RD_SYS);
  }

  /**
   * Generated code changed IF, TF or AC (CLI, STI, POPF at CPL 0): keep
   * what the CPU derives from them in step, as cpu/eflags.ts writeEflags
   * does (the event check takes a now-unmasked interrupt or arms the
   * single-step trap; AC selects the TLB tags).
   */
  private systemFlagsChanged(flagsIn: number): void {
    const c = this.c;
    const changed = (flagsIn ^ c.flags) & (F_AC | F_IF | F_TF);
    if (changed === 0) return;
    if ((changed & F_AC) !== 0) tlbSelect(c);
    c.events = 1;
  }

  /** The region that holds the code at `eip` (through the TLB, in the mode of the run) was translated from bytes that have changed: drop it. */
  private dropRegionAt(eip: number): void {
    const h = this.codeHostOffset(eip, this.runMode);
    if (h < 0) return;
    const r = this.regions.get((h >>> 12) * 4 + this.runMode);
    if (r !== undefined) this.dropRegion(r);
  }

  private copyOut(s: Int32Array, w: number): void {
    const c = this.c;
    const regs = c.regs;
    for (let r = 0; r < 8; r++) regs[r] = s[w + r]!;
    // Generated code only changes the arithmetic flags (eagerly in the image or lazily).
    c.flags = s[w + (ST_FLAGS >> 2)]!;
    c.lop = s[w + (ST_LOP >> 2)]!;
    c.ldst = s[w + (ST_LDST >> 2)]!;
    c.lsrc = s[w + (ST_LSRC >> 2)]!;
    c.lres = s[w + (ST_LRES >> 2)]!;
    c.lsz = s[w + (ST_LSZ >> 2)]!;
    c.lcin = s[w + (ST_LCIN >> 2)]!;
  }

  /** Make host offset `p` (the current instruction) an entry of its page's region. */
  private addEntry(p: number): void {
    const c = this.c;
    const mode = this.mode();
    if (mode === MODE_NONE || p >= c.fpEnd || p < c.fpStart) return;
    const frame = p >>> 12;
    if (this.frameInvalidations[frame]! >= MAX_FRAME_INVALIDATIONS) return;
    const key = frame * 4 + mode;
    let r = this.regions.get(key);
    const pageP = frame << 12;
    const pageEip = (pageP + c.fpEipBase) | 0;
    if (r !== undefined && r.pageEip !== pageEip) {
      // The page is mapped at another virtual address now: start over. (Not counted as an
      // invalidation: every new process maps the vDSO at its own address, and a frame that
      // stopped being compiled after 16 of them would leave every later system call interpreted.
      // Two processes that keep running it at different addresses recompile it each time it gets
      // hot: holding one region per address is the fix for that, not done yet.)
      this.dropRegion(r);
      r = undefined;
    }
    if (r === undefined) {
      r = { key, pageP, pageEip, end: c.fpEnd, mode, entries: new Set(), compiled: new Set(), tables: [], dirty: false, compiles: 0, slots: [], parked: new Map(), rebuilt: false };
      this.regions.set(key, r);
    }
    const parked = r.parked.get(p);
    if (parked !== undefined) {
      r.parked.delete(p);
      this.place(r, p, parked.eip, parked.length, parked.table, parked.block);
      return;
    }
    if (r.compiled.has(p)) return;
    if (r.compiles >= MAX_REGION_GENERATIONS) {
      // Small first generations fill a busy page's 32 quickly (a kernel page over a few
      // programs); refusing its new entries then left them interpreted for good (Chromium,
      // all workloads in one VM: sort 8.2 -> 12.3 s, tvb-int 0.40 -> 0.97 s). Such a region is
      // rebuilt whole once, with this entry; a rebuilt region that fills up refuses, as before.
      if (r.rebuilt || !this.smallGenerations) return;
      this.startRebuild(r);
    }
    if (r.entries.has(p)) {
      // Hot a second time while its batch still waits: a loop the interpreter is running now.
      // The batch is compiled at the end of run(), normally within a ms; but a run sized for
      // the usual speed can take hundreds of ms when the interpreter is slower than usual (the
      // first x87 loop of a process ran ~300 k instructions of cold JS, 0.3-0.6 s, before its
      // region compiled). Not at once, though: modules have a high fixed cost, and batches
      // waiting a few ms are common (with 10 ms, c-mem compiles 38-40 modules, 29-42 before).
      if (r.dirty && performance.now() - this.dirtySinceMs > BATCH_WAIT_MS) this.compilePending();
      return;
    }
    r.entries.add(p);
    if (!r.dirty) {
      r.dirty = true;
      if (this.dirty.length === 0) this.dirtySinceMs = performance.now();
      this.dirty.push(r);
    }
    if (this.dirty.length >= BATCH) this.compilePending();
  }

  /** Ends the warm-up once it is over, and compiles every region that gained entries, one module for all (also called at the end of each run()). */
  compilePending(): void {
    if (this.threshold === WARMING && this.c.instructionsRetired >= this.warmupEnd) {
      this.threshold = this.hotThreshold;
      this.hot.fill(0); // counts from the warm-up would make all of the boot code hot at once
      // Now, before any region: V8's queue of optimising compiles is empty (x87-warmup.ts).
      if (this.x87Homed) this.linkX87Helpers();
    }
    if (this.smallGenerations && ++this.runsSinceSplitCheck >= SPLIT_CHECK_RUNS) this.checkSplits();
    if (this.dirty.length === 0) return;
    this.refreshViews();
    const t0 = performance.now();
    const base = this.frames;
    const functions: ModuleSpec['functions'] = [{ type: 2, locals: FLAGS_HELPER_LOCALS, body: emitFlagsHelper() }];
    const explored: { r: Region; blocks: Insn[][]; starts: number[] }[] = [];
    let total = this.stats.live;
    let floatingPoint = false;
    for (const r of this.dirty) {
      r.dirty = false;
      if (this.regions.get(r.key) !== r) continue; // dropped meanwhile
      const { blocks, starts } = this.explore(r);
      if (blocks.length === 0) continue;
      total += blocks.length;
      if (!floatingPoint) floatingPoint = blocks.some((b) => b.some((i) => i.op >= 0xd8 && i.op <= 0xdf));
      explored.push({ r, blocks, starts });
    }
    // Modules with floating-point code import the x87 helpers (compiled once, in their own module) after the slow paths.
    const x87Helpers = floatingPoint && this.x87Homed ? SLOW_IMPORTS.length : -1;
    if (x87Helpers >= 0) this.linkX87Helpers();
    const importCount = SLOW_IMPORTS.length + (x87Helpers >= 0 ? X87_HELPER_PARAMS.length : 0);
    const built: { r: Region; blocks: Insn[][]; starts: number[] }[] = [];
    for (const { r, blocks, starts } of explored) {
      const user = r.mode === 2;
      const t = translateRegion(blocks, {
        state: base[0]!,
        tlbRd: this.tlbArray(user ? TLB_RD_USR : TLB_RD_SYS),
        tlbWr: this.tlbArray(user ? TLB_WR_USR : TLB_WR_SYS),
        tlbDelta: this.tlbArray(TLB_DELTA),
        flagsHelper: importCount,
        x87Helpers,
      });
      functions.push({ type: 1, locals: t.locals, body: t.body, exportName: 'r' + String(built.length) });
      built.push({ r, blocks, starts });
    }
    this.dirty.length = 0;
    if (built.length === 0) return;
    if (total > this.maxBlocks || this.nextTable - this.freeTables.length + built.length > CHAIN_MAX_TABLES) {
      this.flush();
      return;
    }
    const bytes = buildModule({
      types: MODULE_TYPES,
      imports: [
        ...SLOW_IMPORTS.map((imp) => ({ name: imp.name, type: IMPORT_TYPE[imp.type] })),
        ...(x87Helpers >= 0 ? X87_HELPER_PARAMS.map((n, k) => ({ name: x87HelperName(k), type: i32FunctionType(n) })) : []),
      ],
      memory: { shared: this.shared, maxPages: 65536 },
      functions,
    });
    const instance = new WebAssembly.Instance(new WebAssembly.Module(bytes), this.imports);
    built.forEach(({ r, blocks, starts }, k) => {
      const table = this.allocTable();
      r.tables.push(table);
      if (r.tables.length === 2 && !r.rebuilt && this.smallGenerations) this.splitCandidates.add(r);
      this.table.set(table, instance.exports['r' + String(k)] as WebAssembly.ExportValue);
      r.compiles++;
      r.entries.clear();
      this.codeFrames[r.pageP >>> 12] = 1;
      revokeFrameWrites(this.c, r.pageP >>> 12);
      blocks.forEach((b, idx) => {
        const p = starts[idx]!;
        this.place(r, p, b[0]!.eip, blockWeight(b), table, idx);
        r.compiled.add(p);
      });
      this.stats.compiled++;
    });
    this.stats.compileMs += performance.now() - t0;
  }

  /** The slot a new block at `p` takes: the way that holds `p` already, else an empty way, else the first way. */
  private slotFor(p: number): number {
    const h = Math.imul(p, JIT_HASH_MULTIPLIER) >>> (32 - JIT_HASH_SHIFT);
    const keys = this.keys;
    if (keys[h] === p) return h;
    if (keys[h ^ 1] === p) return h ^ 1;
    if (keys[h] !== -1 && keys[h ^ 1] === -1) return h ^ 1;
    return h;
  }

  /** Gives compiled block `p` of region `r` (block `block` of the function at `table`) a hash slot, evicting the slot's block. */
  private place(r: Region, p: number, eip: number, length: number, table: number, block: number): void {
    const h = this.slotFor(p);
    if (this.keys[h] !== -1 && this.slotState[h] === SLOT_COMPILED) this.evict(h);
    this.keys[h] = p;
    this.eips[h] = eip;
    this.modes[h] = r.mode;
    this.lengths[h] = length;
    this.slotState[h] = SLOT_COMPILED;
    this.slotTable[h] = table;
    this.slotBlock[h] = block;
    // A block parked and placed again adds its slot once more: keep the list to the slots still the region's.
    if (r.slots.length >= 2 * r.compiled.size + MAX_REGION_BLOCKS) r.slots = r.slots.filter((s) => this.holdsBlockOf(s, r));
    r.slots.push(h);
    this.stats.live++;
  }

  /**
   * Slot `h` is taken by another block: its block leaves the table but stays
   * compiled; it is parked in its region, which gives it a slot again when it
   * is hot again (addEntry). Recompiling it instead was impossible for a
   * region with all its generations used: a kernel block at a return site
   * of the sort benchmark cost 119,000 returns to JS per run that way.
   */
  private evict(h: number): void {
    this.chainDrop(h);
    this.stats.live--;
    const p = this.keys[h]!;
    const r = this.regions.get((p >>> 12) * 4 + this.modes[h]!);
    r?.parked.set(p, { eip: this.eips[h]!, length: this.lengths[h]!, table: this.slotTable[h]!, block: this.slotBlock[h]! });
  }

  /** The blocks of a region: those at its entries and those reachable from them by direct branches within the page. */
  private explore(r: Region): { blocks: Insn[][]; starts: number[] } {
    const mem8 = this.c.mem8;
    const blocks: Insn[][] = [];
    const starts: number[] = [];
    const seen = new Set<number>();
    const work = [...r.entries];
    const peek = (target: number): [number, number] | null => this.codeWordsAt(target, r.mode);
    const pageEnd = r.pageP + 4096;
    const toP = (eip: number): number => {
      const p = r.pageP + ((eip - r.pageEip) | 0);
      return p >= r.pageP && p < r.end && p < pageEnd ? p : -1;
    };
    const insnCap = r.rebuilt ? Infinity : this.generationInsns;
    let insns = 0;
    const maxBlocks = r.rebuilt ? REBUILT_REGION_BLOCKS : MAX_REGION_BLOCKS;
    while (work.length > 0 && blocks.length < maxBlocks && insns < insnCap) {
      const p = work.shift()!;
      if (seen.has(p) || r.compiled.has(p)) continue; // compiled blocks are reached through the dispatcher
      seen.add(p);
      const block = decodeBlock(mem8, p, r.end, (r.pageEip + (p - r.pageP)) | 0, r.mode === 1, peek);
      if (block.length === 0) continue;
      blocks.push(block);
      starts.push(p);
      insns += block.length;
      for (const i of block) {
        if (i.thunk >= 0) this.stats.pcThunkCalls++;
        if (i.got !== -1) this.stats.pltCalls++;
      }
      const last = block[block.length - 1]!;
      const next = (last.eip + last.len) | 0;
      const follow = (eip: number): void => {
        const q = toP(eip);
        if (q >= 0 && !seen.has(q)) work.push(q);
      };
      if (last.end === BlockEnd.Jcc) { follow(last.target); follow(next); }
      else if (last.end === BlockEnd.Jmp) follow(last.target);
      else if (last.end === BlockEnd.Call || last.end === BlockEnd.CallInd) { follow(next); if (last.end === BlockEnd.Call) follow(last.target); }
    }
    return { blocks, starts };
  }

  /**
   * The first 8 bytes at `eip` as two little-endian i32, read through the TLB
   * as it is now (no walk), or null. Only a hint for the translator (what a
   * CALL's target holds): the generated code checks the bytes again each time.
   */
  private codeWordsAt(eip: number, mode: number): [number, number] | null {
    if ((eip & 0xfff) > 0xff8) return null;
    const c = this.c;
    const h = this.codeHostOffset(eip, mode);
    if (h < 0 || h + 8 > c.dv.byteLength) return null;
    return [c.dv.getInt32(h, true), c.dv.getInt32(h + 4, true)];
  }

  /** The host offset of `eip` where the TLB maps it readable in `mode` (1 or 2), else -1 (no walk). */
  private codeHostOffset(eip: number, mode: number): number {
    const c = this.c;
    const vp = eip >>> 12;
    const slot = vp & (TLB_SIZE - 1);
    if ((mode === 2 ? c.tlbRdUsr : c.tlbRdSys)[slot] !== (vp | c.tlbKey)) return -1;
    return (eip + c.tlbDelta[slot]!) | 0;
  }

  /**
   * Put the compiled block in hash slot `h` into the chain cache. An EIP's
   * two ways are the entry pair {slot & ~1, slot | 1} (the dispatcher probes
   * both); chainWay picks the way. (Moving the entry of the EIP's own slot
   * to the other way, as before, let two hot EIPs whose home slots form one
   * pair evict each other forever through a third, one JS round trip each.)
   * Invariant: every chain entry matches a live block of the hash table
   * exactly; chainDrop runs wherever one dies.
   */
  private chainAdd(h: number): void {
    const eip = this.eips[h]!;
    const i = chainSlot(eip) & ~1;
    const st = this.st;
    const e0 = this.chainEntry(i);
    const e1 = this.chainEntry(i | 1);
    const way = chainWay(st[e0 + (CHAIN_ENTRY_EIP >> 2)]!, st[e0 + (CHAIN_ENTRY_P >> 2)]!, st[e1 + (CHAIN_ENTRY_EIP >> 2)]!, st[e1 + (CHAIN_ENTRY_P >> 2)]!, eip);
    if (way === ChainWay.EvenAfterMove) {
      for (let k = 0; k < 3; k++) st[e1 + k] = st[e0 + k]!;
      this.noteChainUsed(i | 1);
    }
    const e = way === ChainWay.Odd ? e1 : e0;
    this.noteChainUsed(way === ChainWay.Odd ? i | 1 : i);
    st[e + (CHAIN_ENTRY_EIP >> 2)] = eip;
    st[e + (CHAIN_ENTRY_P >> 2)] = this.keys[h]!;
    st[e + (CHAIN_ENTRY_INFO >> 2)] = chainInfo(this.slotTable[h]!, this.lengths[h]!, this.slotBlock[h]!, this.modes[h]!);
  }

  /** Int32 index (into `st`) of chain cache entry `i`'s first word (16 bytes per entry). */
  private chainEntry(i: number): number {
    return this.chainWord0 + i * 4;
  }

  /** Remember that chain entry `i` may hold something (clearChain empties only those, until too many were noted). */
  private noteChainUsed(i: number): void {
    if (this.chainUsedCount < CHAIN_SIZE) this.chainUsed[this.chainUsedCount++] = i;
  }

  /** The block in hash slot `h` is about to die: remove it from the chain cache if it is there. */
  private chainDrop(h: number): void {
    const eip = this.eips[h]!;
    const i = chainSlot(eip);
    this.chainDropAt(this.chainEntry(i), eip, this.keys[h]!);
    this.chainDropAt(this.chainEntry(i ^ 1), eip, this.keys[h]!);
  }

  private chainDropAt(e: number, eip: number, p: number): void {
    if (this.st[e + (CHAIN_ENTRY_EIP >> 2)] === eip && this.st[e + (CHAIN_ENTRY_P >> 2)] === p) this.st[e + (CHAIN_ENTRY_P >> 2)] = -1;
  }

  /** Empty the chain cache (host offset -1 never matches). */
  private clearChain(): void {
    if (this.chainUsedCount < CHAIN_SIZE) {
      for (let k = 0; k < this.chainUsedCount; k++) this.st[this.chainEntry(this.chainUsed[k]!) + (CHAIN_ENTRY_P >> 2)] = -1;
    } else {
      for (let k = 0; k < CHAIN_SIZE; k++) this.st[this.chainEntry(k) + (CHAIN_ENTRY_P >> 2)] = -1;
    }
    this.chainUsedCount = 0;
  }

  private allocTable(): number {
    const t = this.freeTables.pop();
    if (t !== undefined) return t;
    const i = this.nextTable++;
    if (i >= this.table.length) this.table.grow(this.table.length);
    return i;
  }

  /** Slot `h` holds a compiled block of region `r` (its page and mode). */
  private holdsBlockOf(h: number, r: Region): boolean {
    return this.slotState[h] === SLOT_COMPILED && this.keys[h]! >>> 12 === r.pageP >>> 12 && this.modes[h] === r.mode;
  }

  private clearSlots(r: Region): void {
    for (const h of r.slots) {
      if (this.holdsBlockOf(h, r)) {
        this.chainDrop(h);
        this.slotState[h] = SLOT_EMPTY;
        this.keys[h] = -1;
        this.stats.live--;
      }
    }
    r.slots.length = 0;
  }

  /**
   * Rebuilds whole every region of several generations whose page took SPLIT_REBUILD_CALLS
   * chained calls between its functions since the last look (the counters
   * are per page-number hash: a collision at worst rebuilds a region early),
   * then clears the counters.
   */
  private checkSplits(): void {
    this.runsSinceSplitCheck = 0;
    const base = (this.frames[0]! + ST_SPLIT) >> 2;
    for (const r of this.splitCandidates) {
      if (r.tables.length >= 2 && this.st[base + splitSlot(r.pageEip)]! >= SPLIT_REBUILD_CALLS) this.startRebuild(r);
    }
    this.st.fill(0, base, base + SPLIT_SLOTS);
  }

  /** Compile all blocks of region `r` again as one function with no instruction cap (the interpreter runs them until the batch compiles, within this compilePending). */
  private startRebuild(r: Region): void {
    const entries = [...r.compiled, ...r.parked.keys(), ...r.entries];
    this.clearSlots(r);
    for (const t of r.tables) this.freeTables.push(t);
    r.tables.length = 0;
    r.compiled.clear();
    r.parked.clear();
    r.compiles = 0;
    r.rebuilt = true;
    this.splitCandidates.delete(r);
    this.stats.rebuilds++;
    for (const e of entries) r.entries.add(e);
    if (!r.dirty) {
      r.dirty = true;
      if (this.dirty.length === 0) this.dirtySinceMs = performance.now();
      this.dirty.push(r);
    }
  }

  private dropRegion(r: Region): void {
    this.splitCandidates.delete(r);
    this.clearSlots(r);
    this.regions.delete(r.key);
    for (const t of r.tables) this.freeTables.push(t);
    r.tables.length = 0;
    r.compiled.clear();
    r.parked.clear();
  }

  /**
   * The CPU was reset (a reboot, a new boot loaded): its next
   * warmupLength instructions are boot code again, which compiling would
   * slow down (a restored VM's reboot took ~20 s in Chromium with the JIT
   * compiling its boot, ~4 s without).
   */
  restartWarmup(): void {
    if (this.warmupLength === 0) return;
    this.warmupEnd = this.c.instructionsRetired + this.warmupLength;
    this.threshold = WARMING;
  }

  /** A write to pool frame `frame` is about to be allowed (page walk for writing). */
  noteWrite(frame: number): void {
    if (frame >= this.codeFrames.length || this.codeFrames[frame] === 0) return;
    this.codeFrames[frame] = 0;
    if (this.frameInvalidations[frame]! < 255) this.frameInvalidations[frame]!++;
    for (let mode = 1; mode <= 2; mode++) {
      const r = this.regions.get(frame * 4 + mode);
      if (r !== undefined) this.dropRegion(r);
    }
    this.stats.invalidations++;
    this.invalidatedDuringRun = true;
  }

  /** Forget all compiled code (reset, mapping changes, cache full). */
  flush(): void {
    this.refreshViews();
    for (const r of this.regions.values()) this.dropRegion(r);
    this.keys.fill(-1);
    this.clearChain();
    this.slotState.fill(SLOT_EMPTY);
    this.hot.fill(0);
    this.dirty.length = 0;
    this.codeFrames.fill(0);
    // Frames shut out for too many invalidations get another chance (as the block tier's do):
    // over a long session a frame is reused for other code, and without this it stayed
    // interpreted for the rest of the JIT's life. Flushes are rare (mapping changes, snapshots,
    // a full cache), so a frame that really is rewritten all the time costs little.
    this.frameInvalidations.fill(0);
    this.stats.live = 0;
    this.stats.flushes++;
    this.invalidatedDuringRun = true;
  }
}

interface DispatcherLayout {
  state: number;
  tlbDelta: number;
  /** Host byte offset of the chain cache (CHAIN_FRAMES consecutive frames). */
  chain: number;
  /** Count chained calls between functions of one page (ST_SPLIT); only small first generations read them. */
  countSplits: boolean;
}

/**
 * One small module whose `run(table, block, budget)` calls the region at
 * `table` of the funcref table (JS always calls the same export) and then
 * chains: while the region left without an exit request to an EIP whose
 * block is in the chain cache (same EIP, mode and host offset as the current
 * TLB translation of the EIP, length within the budget left), the next
 * region is called from here instead of returning to JS. Returns the
 * instructions retired, or -1 when a slow path recorded a guest fault.
 * The mode and its TLB read-tag array come from the state frame
 * (ST_RUN_MODE, ST_RUN_TLBRD: SYSENTER and SYSEXIT change them within a
 * chain); mode 0 disables chaining.
 */
function buildDispatcher(memory: WebAssembly.Memory, shared: boolean, table: WebAssembly.Table, codeTlb: (eip: number) => void, at: DispatcherLayout): (table: number, block: number, budget: number) => number {
  const P_TABLE = 0, P_BLOCK = 1, P_BUDGET = 2;
  const IMPORT_CODE_TLB = 0;
  const L_TOTAL = 3, L_N = 4, L_EIP = 5, L_SLOT = 6, L_INFO = 7, L_TIDX = 8, L_MODE = 9;
  const f = new FunctionBody();
  /** Push the CHAIN_INFO field (L_INFO >>> shift) & mask. */
  const infoField = (shift: number, mask: number): void => {
    f.get(L_INFO);
    f.i32(shift);
    f.op(Op.I32ShrU);
    f.i32(mask);
    f.op(Op.I32And);
  };
  f.block(); // $out: return total
  f.loop(); // $chain
  // Instructions already retired in this call, for the slow paths' instruction clock.
  f.i32(0);
  f.get(L_TOTAL);
  f.mem(Op.I32Store, 2, at.state + ST_CHAIN_DONE);
  f.get(P_BLOCK);
  f.get(P_BUDGET);
  f.get(L_TOTAL);
  f.op(Op.I32Sub);
  f.get(P_TABLE);
  f.callIndirect(0);
  f.tee(L_N);
  f.i32(0);
  f.op(Op.I32LtS);
  f.if();
  f.i32(-1);
  f.op(Op.Return);
  f.end();
  f.get(L_TOTAL);
  f.get(L_N);
  f.op(Op.I32Add);
  f.set(L_TOTAL);
  // Stop on an exit request, when chaining is off, or when the region retired nothing (it left
  // before its first instruction for the interpreter to run).
  f.i32(0);
  f.mem(Op.I32Load, 2, at.state + ST_EXIT_REQ);
  f.i32(0);
  f.mem(Op.I32Load, 2, at.state + ST_RUN_MODE); // read once per region call: SYSENTER/SYSEXIT change it
  f.tee(L_MODE);
  f.op(Op.I32Eqz);
  f.op(Op.I32Or);
  f.get(L_N);
  f.op(Op.I32Eqz);
  f.op(Op.I32Or);
  f.brIf(1);
  // The chain cache slot of the next EIP must hold it, for this mode.
  // L_SLOT = address of entry chainSlot(eip): the cache's frames are consecutive, 16 bytes per entry.
  f.i32(0);
  f.mem(Op.I32Load, 2, at.state + ST_EIP);
  f.tee(L_EIP);
  f.i32(CHAIN_HASH_MULTIPLIER);
  f.op(Op.I32Mul);
  f.i32(32 - CHAIN_BITS);
  f.op(Op.I32ShrU);
  f.i32(4);
  f.op(Op.I32Shl);
  f.i32(at.chain);
  f.op(Op.I32Add);
  f.tee(L_SLOT);
  f.mem(Op.I32Load, 2, CHAIN_ENTRY_EIP);
  f.get(L_EIP);
  f.op(Op.I32Ne);
  f.if();
  // Two ways: the neighbouring entry (same frame, slot ^ 1).
  f.get(L_SLOT);
  f.i32(16);
  f.op(Op.I32Xor);
  f.tee(L_SLOT);
  f.mem(Op.I32Load, 2, CHAIN_ENTRY_EIP);
  f.get(L_EIP);
  f.op(Op.I32Ne);
  f.brIf(2);
  f.end();
  f.get(L_SLOT);
  f.mem(Op.I32Load, 2, CHAIN_ENTRY_INFO);
  f.tee(L_INFO);
  f.i32(3);
  f.op(Op.I32And);
  f.get(L_MODE);
  f.op(Op.I32Ne);
  f.brIf(1);
  // The TLB must translate the EIP's page (readable in this mode); on a miss, codeTlb walks and
  // the check runs once more ...
  const tagMismatch = (): void => {
    f.i32(0);
    f.mem(Op.I32Load, 2, at.state + ST_RUN_TLBRD);
    f.get(L_TIDX);
    f.op(Op.I32Add);
    f.mem(Op.I32Load, 2, 0);
    emitPageTag(f, L_EIP, () => {
      f.i32(0);
      f.mem(Op.I32Load, 2, at.state + ST_TLBKEY);
    });
    f.op(Op.I32Ne);
  };
  emitTlbSlot(f, L_EIP, L_TIDX);
  f.op(Op.Drop);
  tagMismatch();
  f.if();
  f.get(L_EIP);
  f.call(IMPORT_CODE_TLB);
  tagMismatch();
  f.brIf(2);
  f.end();
  // ... to the host offset the block was compiled at.
  f.get(L_EIP);
  f.get(L_TIDX);
  f.mem(Op.I32Load, 2, at.tlbDelta);
  f.op(Op.I32Add);
  f.get(L_SLOT);
  f.mem(Op.I32Load, 2, CHAIN_ENTRY_P);
  f.op(Op.I32Ne);
  f.brIf(1);
  // The whole block must fit in the budget left (exact instruction counts).
  infoField(10, 127);
  f.get(P_BUDGET);
  f.get(L_TOTAL);
  f.op(Op.I32Sub);
  f.op(Op.I32GtS);
  f.brIf(1);
  infoField(2, CHAIN_MAX_BLOCKS - 1);
  f.set(P_BLOCK);
  f.get(L_INFO);
  f.i32(17);
  f.op(Op.I32ShrU);
  f.set(L_N);
  if (at.countSplits) {
    // A call into another function of the page the last region ran on: its hot code is split over
    // generations. Count it for that page (jit.ts checkSplits may rebuild the region whole).
    f.get(L_N);
    f.get(P_TABLE);
    f.op(Op.I32Ne);
    f.i32(0);
    f.mem(Op.I32Load, 2, at.state + ST_REGION_BASE);
    f.get(L_EIP);
    f.op(Op.I32Xor);
    f.i32(12);
    f.op(Op.I32ShrU);
    f.op(Op.I32Eqz);
    f.op(Op.I32And);
    f.if();
    f.get(L_EIP);
    f.i32(12 - 2);
    f.op(Op.I32ShrU);
    f.i32((SPLIT_SLOTS - 1) << 2);
    f.op(Op.I32And);
    f.tee(L_TIDX);
    f.get(L_TIDX);
    f.mem(Op.I32Load, 2, at.state + ST_SPLIT);
    f.i32(1);
    f.op(Op.I32Add);
    f.mem(Op.I32Store, 2, at.state + ST_SPLIT);
    f.end();
  }
  f.get(L_N);
  f.set(P_TABLE);
  f.br(0);
  f.end(); // $chain
  f.end(); // $out
  f.get(L_TOTAL);
  const bytes = buildModule({
    types: [{ params: [I32, I32], results: [I32] }, { params: [I32, I32, I32], results: [I32] }, { params: [I32], results: [] }],
    imports: [{ name: 'codeTlb', type: 2 }],
    memory: { shared, maxPages: 65536 },
    tableMin: 1,
    functions: [{ type: 1, locals: 7, body: f, exportName: 'run' }],
  });
  const instance = new WebAssembly.Instance(new WebAssembly.Module(bytes), { i: { m: memory, t: table, codeTlb } });
  return instance.exports['run'] as (table: number, block: number, budget: number) => number;
}
