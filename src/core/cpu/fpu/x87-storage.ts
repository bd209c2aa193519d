/**
 * Where the x87 unit keeps its state: one block of plain memory (typed-array
 * views over an ArrayBuffer), so that the JIT can move it into its state
 * frame in the guest memory pool and generated WebAssembly can run the
 * common x87 instructions on it directly (jit/x87-emit.ts), the way the TLB
 * arrays are homed there. The layout is shared by both sides; byte offsets
 * from the block's start.
 *
 * Registers are stored by physical number, structure-of-arrays: the
 * significand's low and high uint32 halves and the sign/exponent word. Slot
 * 8 (MEM) holds a memory operand widened to 80 bits.
 */
export const X87_SLOTS = 9;
export const X87_LO = 0;
export const X87_HI = X87_LO + 4 * X87_SLOTS;
export const X87_SE = X87_HI + 4 * X87_SLOTS;
/** Int32 words after the registers (the uint32 pointers FIP and FDP are stored as int32). */
export const X87_CTL = 96;
export const X87_CW = X87_CTL;
/** The status word without TOP (bits 13:11 live in X87_TOP). */
export const X87_SW = X87_CTL + 4;
export const X87_TOP = X87_CTL + 8;
/** Bit i set: physical register i is empty. */
export const X87_EMPTY = X87_CTL + 12;
export const X87_FIP = X87_CTL + 16;
export const X87_FCS = X87_CTL + 20;
export const X87_FOP = X87_CTL + 24;
export const X87_FDP = X87_CTL + 28;
export const X87_FDS = X87_CTL + 32;
export const X87_CTL_WORDS = 9;
export const X87_BYTES = X87_CTL + 4 * X87_CTL_WORDS;

if (X87_SE + 2 * X87_SLOTS > X87_CTL) throw new Error('x87-storage: the registers overlap the control words');

/** Index of a control word in the Int32Array `X87Storage.ctl`. */
export const CTL_CW = 0;
export const CTL_SW = 1;
export const CTL_TOP = 2;
export const CTL_EMPTY = 3;
export const CTL_FIP = 4;
export const CTL_FCS = 5;
export const CTL_FOP = 6;
export const CTL_FDP = 7;
export const CTL_FDS = 8;

/** Typed-array views of one x87 state block. */
export class X87Storage {
  readonly lo: Uint32Array;
  readonly hi: Uint32Array;
  readonly se: Uint16Array;
  readonly ctl: Int32Array;
  readonly bytes: Uint8Array;

  /** Views of the block at `byteOffset` (a multiple of 4) in `buffer`; a fresh block by default. */
  constructor(buffer: ArrayBufferLike = new ArrayBuffer(X87_BYTES), byteOffset = 0) {
    if ((byteOffset & 3) !== 0) throw new Error('x87-storage: the block must be 4-byte aligned');
    this.lo = new Uint32Array(buffer, byteOffset + X87_LO, X87_SLOTS);
    this.hi = new Uint32Array(buffer, byteOffset + X87_HI, X87_SLOTS);
    this.se = new Uint16Array(buffer, byteOffset + X87_SE, X87_SLOTS);
    this.ctl = new Int32Array(buffer, byteOffset + X87_CTL, X87_CTL_WORDS);
    this.bytes = new Uint8Array(buffer, byteOffset, X87_BYTES);
  }
}
