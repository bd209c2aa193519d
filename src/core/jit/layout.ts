import { TLB_SIZE } from '../cpu/state.ts';
import { S_CS } from '../cpu/constants.ts';
import { X87_BYTES } from '../cpu/fpu/x87-storage.ts';

/**
 * The JIT's state frame: one 4 KiB frame of the guest memory pool that both
 * the TypeScript side and the generated WebAssembly address. The JS side
 * copies the registers in before a block runs and out after it (eight
 * stores each way, far cheaper than keeping every interpreter access on a
 * typed array over a memory that may be replaced when the pool grows).
 * Offsets are bytes from the frame's start.
 */
export const ST_REGS = 0;
/** Guest EIP to continue at after a block returns. */
export const ST_EIP = 32;
/** Lazy flags as the region left them (copied back into the CPU after every run, with ST_FLAGS). */
export const ST_LOP = 36;
export const ST_LDST = 40;
export const ST_LSRC = 44;
export const ST_LRES = 48;
export const ST_LSZ = 52;
export const ST_LCIN = 56;
/** EFLAGS image: materialised by the dispatcher at entry, updated by the region where it folds lazy flags. */
export const ST_FLAGS = 60;
/** The TLB epoch key (CpuCore.tlbKey) at entry. */
export const ST_TLBKEY = 64;
/** EIP of the instruction that called a slow path (a fault restarts it). */
export const ST_FAULT_EIP = 68;
/** Instructions completed in this block call before that instruction. */
export const ST_FAULT_DONE = 72;
/** Set by the slow paths when the block must stop after the current instruction (events pending, code invalidated). */
export const ST_EXIT_REQ = 76;
/** Instructions retired by the regions the dispatcher already ran in this call (chained runs), before the current one. */
export const ST_CHAIN_DONE = 80;
/** GS base, and 1 when GS is usable by generated code (flat limit, readable and writable); set at every entry from JS and by the `sys` import when it loads GS. */
export const ST_GS_BASE = 84;
export const ST_GS_OK = 88;
/** 1 when generated code may run x87 instructions itself: the CPU has an FPU and CR0.EM and CR0.TS are clear (else ESC raises #NM or #UD); set at every entry from JS. */
export const ST_X87_OK = 92;
/**
 * 1 when the CPU's interrupt line was raised at entry (set from JS; a device
 * that raises it during a run does so in a slow path, which requests an
 * exit anyway). Generated code that sets IF (STI, POPF) leaves for JS when
 * it is 1, so the interrupt is taken at the interpreter's instruction boundary.
 */
export const ST_INT_LINE = 96;
/** The selectors of ES, CS, SS, DS, FS, GS (4 bytes each, cpu/constants.ts S_* order), set at every entry from JS and by the `sys` import when it loads one: PUSH Sreg, MOV r32,Sreg. */
export const ST_SEGSEL = 100;
/** The CS selector (in ST_SEGSEL): the x87's last-instruction selector. */
export const ST_CS_SEL = ST_SEGSEL + S_CS * 4;
/** A second result of the `sys` import (RDTSC's EDX, SYSENTER's EIP). */
export const ST_SYS_OUT = 124;
/**
 * The mode (1 = CPL 0, 2 = CPL 3; 0 = no chaining) of the regions the
 * dispatcher may chain into, and the byte offset of that mode's TLB read-tag
 * array, which checks their code pages. Set by JS at each entry and by the
 * `sys` import when SYSENTER or SYSEXIT switches the mode inside a chain;
 * the dispatcher reads both after every region call.
 */
export const ST_RUN_MODE = 128;
export const ST_RUN_TLBRD = 132;
/** The x87 unit's state block (fpu/x87-storage.ts), homed here when the JIT attaches (8-byte aligned). */
export const ST_X87 = 136;
/** The EIP a running region's slow-path sites count from (see packSite); stored by the region on entry. */
export const ST_REGION_BASE = ST_X87 + ((X87_BYTES + 7) & ~7);
/**
 * Counters of chained calls from a region to another function of the same
 * code page (a page whose hot code was split over generations), SPLIT_SLOTS
 * words indexed by the page number's low bits; the dispatcher counts, jit.ts
 * reads and clears them (see "Small first generations" in README.md).
 */
export const ST_SPLIT = 1024;
export const SPLIT_SLOTS = 256;
export function splitSlot(eip: number): number {
  return (eip >>> 12) & (SPLIT_SLOTS - 1);
}

/**
 * A slow-path site or exit in one i32: an instruction's distance from its
 * region's base EIP, and how many instructions of its block retired before
 * (or, for an exit, with) it. One small constant instead of a 5-byte EIP and
 * a count, at every memory access of every region.
 */
export const SITE_DONE_BITS = 9;
export const SITE_DONE_MASK = (1 << SITE_DONE_BITS) - 1;
const SITE_DELTA_LIMIT = 1 << (31 - SITE_DONE_BITS);
/** The packed site, or undefined when the distance or the count does not fit. */
export function packSite(delta: number, done: number): number | undefined {
  if (done < 0 || done > SITE_DONE_MASK || delta < -SITE_DELTA_LIMIT || delta >= SITE_DELTA_LIMIT) return undefined;
  return (delta << SITE_DONE_BITS) | done;
}

/** Tag/delta arrays of the software TLB that generated code reads (TLB_SIZE int32 each, in TLB_FRAMES_PER_ARRAY consecutive frames), by index. */
export const TLB_RD_SYS = 0;
export const TLB_WR_SYS = 1;
export const TLB_RD_USR = 2;
export const TLB_WR_USR = 3;
export const TLB_DELTA = 4;
export const TLB_ARRAYS = 5;
export const TLB_FRAMES_PER_ARRAY = (TLB_SIZE * 4) / 4096;
export const TLB_FRAMES = TLB_ARRAYS * TLB_FRAMES_PER_ARRAY;

/**
 * The chain cache: a two-way set-associative table of CHAIN_SIZE entries
 * (an EIP lives in slot chainSlot(eip) or its neighbour slot ^ 1) that the
 * dispatcher consults when a region exits to an EIP outside itself, so
 * control moves between regions without returning to JS. An entry is 16
 * bytes: the guest EIP, the host offset the block was compiled at (checked
 * against the TLB's translation of the EIP), CHAIN_INFO (table index, block
 * length, block index, mode), unused. Its CHAIN_FRAMES frames are
 * consecutive (the JIT's frames are one run), so entry k is at byte k * 16;
 * the dispatcher used to find each entry's frame through a table in the
 * state frame, one more dependent load on its hottest path.
 */
export const CHAIN_FRAMES = 64;
export const CHAIN_PER_FRAME = 256;
export const CHAIN_SIZE = CHAIN_FRAMES * CHAIN_PER_FRAME;
export const CHAIN_ENTRY_EIP = 0;
export const CHAIN_ENTRY_P = 4;
export const CHAIN_ENTRY_INFO = 8;
export const CHAIN_BITS = 14;
if (1 << CHAIN_BITS !== CHAIN_SIZE) throw new Error('layout: CHAIN_BITS does not match CHAIN_SIZE');
/**
 * Multiplicative (Fibonacci) hashing: the top bits of eip * 2^32/phi. The
 * former page-xor-offset hash sent three of the busybox shell loop's hot
 * return addresses to one entry pair, and each round trip through JS evicted
 * the next one.
 */
export const CHAIN_HASH_MULTIPLIER = 0x9e3779b1 | 0;
export function chainSlot(eip: number): number {
  return Math.imul(eip, CHAIN_HASH_MULTIPLIER) >>> (32 - CHAIN_BITS);
}
/** CHAIN_INFO = table << 17 | length << 10 | block << 2 | mode (table < 32768, length <= 127, block <= 255, mode 1 or 2). */
export const CHAIN_MAX_TABLES = 1 << 15;
export const CHAIN_MAX_BLOCKS = 256;
export function chainInfo(table: number, length: number, block: number, mode: number): number {
  return (table << 17) | (length << 10) | (block << 2) | mode;
}

/** Where chainAdd puts a new entry for `eip` in a pair: way 0, way 1, or way 0 after moving way 0's entry to way 1. */
export const enum ChainWay { Even = 0, Odd = 1, EvenAfterMove = 2 }
/**
 * The replacement rule of an entry pair (way 0 = even slot, way 1 = odd):
 * the entry already holding `eip`, else a dead way (host offset -1), else
 * way 0 after its entry moves to way 1, so the pair keeps the two most
 * recently added EIPs whatever their home slots.
 */
export function chainWay(eip0: number, p0: number, eip1: number, p1: number, eip: number): ChainWay {
  if (eip0 === eip) return ChainWay.Even;
  if (eip1 === eip) return ChainWay.Odd;
  if (p0 === -1) return ChainWay.Even;
  if (p1 === -1) return ChainWay.Odd;
  return ChainWay.EvenAfterMove;
}

if (ST_REGION_BASE + 4 > ST_SPLIT) throw new Error('layout: the x87 block does not fit in the state frame');
if (ST_SPLIT + SPLIT_SLOTS * 4 > 3072) throw new Error('layout: the split counters overlap the x87 warm-up scratch (x87-warmup.ts)');
