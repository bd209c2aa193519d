/**
 * Lazy arithmetic flags. Arithmetic instructions only record the operation
 * kind, operands, result and size; CF/PF/AF/ZF/SF/OF are derived when read
 * (SDM Vol. 1 3.4.3.1 and the per-instruction "Flags Affected" sections).
 *
 * Operands and results are stored masked to the operand size: 8/16-bit
 * values as unsigned, 32-bit values as int32, so `>>> 0` compares work for
 * every size.
 */
import type { CpuCore } from './state.ts';
import { F_ARITH, F_CF } from './constants.ts';

/** lop values. 0 means "the arithmetic bits of c.flags are current". */
export const L_NONE = 0;
export const L_ADD = 1;
export const L_ADC = 2;
export const L_SUB = 3;
export const L_SBB = 4;
/** AND/OR/XOR/TEST: CF = OF = 0, AF = 0. */
export const L_LOGIC = 5;
/** INC/DEC: like ADD/SUB by 1, CF preserved in lcin. */
export const L_INC = 6;
export const L_DEC = 7;
/** Shifts, multiplies: SF/ZF/PF from the result, CF = lcin & 1, OF = lcin >> 1, AF = 0. */
export const L_RES = 8;

export const SZ_MASK: readonly number[] = [0xff, 0xffff, -1];
export const SZ_SIGN: readonly number[] = [0x80, 0x8000, 0x80000000 | 0];

/** PARITY[b] = PF for low byte b (1 = even number of set bits). */
export const PARITY = new Uint8Array(256);
for (let i = 0; i < 256; i++) {
  let n = i;
  n ^= n >> 4;
  n ^= n >> 2;
  n ^= n >> 1;
  PARITY[i] = (n & 1) ^ 1;
}

export function getCF(c: CpuCore): number {
  switch (c.lop) {
    case L_NONE: return c.flags & F_CF;
    case L_ADD: return (c.lres >>> 0) < (c.ldst >>> 0) ? 1 : 0;
    case L_ADC: return c.lcin !== 0 ? ((c.lres >>> 0) <= (c.ldst >>> 0) ? 1 : 0) : ((c.lres >>> 0) < (c.ldst >>> 0) ? 1 : 0);
    case L_SUB: return (c.ldst >>> 0) < (c.lsrc >>> 0) ? 1 : 0;
    case L_SBB: return c.lcin !== 0 ? ((c.ldst >>> 0) <= (c.lsrc >>> 0) ? 1 : 0) : ((c.ldst >>> 0) < (c.lsrc >>> 0) ? 1 : 0);
    case L_LOGIC: return 0;
    case L_INC: case L_DEC: return c.lcin;
    default: return c.lcin & 1;
  }
}

export function getZF(c: CpuCore): number {
  if (c.lop === L_NONE) return (c.flags >> 6) & 1;
  return c.lres === 0 ? 1 : 0;
}

export function getSF(c: CpuCore): number {
  if (c.lop === L_NONE) return (c.flags >> 7) & 1;
  return (c.lres & SZ_SIGN[c.lsz]) !== 0 ? 1 : 0;
}

export function getPF(c: CpuCore): number {
  if (c.lop === L_NONE) return (c.flags >> 2) & 1;
  return PARITY[c.lres & 0xff];
}

export function getOF(c: CpuCore): number {
  switch (c.lop) {
    case L_NONE: return (c.flags >> 11) & 1;
    case L_ADD: case L_ADC: case L_INC:
      return ((c.ldst ^ c.lres) & (c.lsrc ^ c.lres) & SZ_SIGN[c.lsz]) !== 0 ? 1 : 0;
    case L_SUB: case L_SBB: case L_DEC:
      return ((c.ldst ^ c.lsrc) & (c.ldst ^ c.lres) & SZ_SIGN[c.lsz]) !== 0 ? 1 : 0;
    case L_LOGIC: return 0;
    default: return (c.lcin >> 1) & 1;
  }
}

export function getAF(c: CpuCore): number {
  switch (c.lop) {
    case L_NONE: return (c.flags >> 4) & 1;
    case L_LOGIC: case L_RES: return 0;
    default: return ((c.ldst ^ c.lsrc ^ c.lres) >> 4) & 1;
  }
}

/** Fold the lazy state into c.flags and switch to eager mode. */
export function materialize(c: CpuCore): void {
  if (c.lop === L_NONE) return;
  const f = getCF(c) | (getPF(c) << 2) | (getAF(c) << 4) | (getZF(c) << 6) | (getSF(c) << 7) | (getOF(c) << 11);
  c.flags = (c.flags & ~F_ARITH) | f;
  c.lop = L_NONE;
}

/** Full EFLAGS value (lazy bits materialised), bit 1 set. */
export function readEflags(c: CpuCore): number {
  materialize(c);
  return c.flags | 2;
}

/** Set the arithmetic flags eagerly from a bit image (only F_ARITH bits of `bits` are used). */
export function setArithFlags(c: CpuCore, bits: number): void {
  materialize(c);
  c.flags = (c.flags & ~F_ARITH) | (bits & F_ARITH);
}

/** Replace only the flags in `mask` (subset of F_ARITH) with those in `bits`. */
export function setSomeFlags(c: CpuCore, mask: number, bits: number): void {
  materialize(c);
  c.flags = (c.flags & ~mask) | (bits & mask);
}

/** Record a result whose SF/ZF/PF come from `res` with explicit CF and OF (shifts, multiplies). */
export function setResultFlags(c: CpuCore, res: number, sz: number, cf: number, of: number): void {
  c.lop = L_RES;
  c.lres = res;
  c.lsz = sz;
  c.lcin = (cf & 1) | ((of & 1) << 1);
}

/** Evaluate condition code cc (0..15, the low nibble of Jcc/SETcc/CMOVcc). SDM Vol. 1 B.1. */
export function testCC(c: CpuCore, cc: number): boolean {
  let r: number;
  if (c.lop === L_SUB) {
    // Fast paths for CMP/SUB followed by a branch.
    const a = c.ldst;
    const b = c.lsrc;
    switch (cc >> 1) {
      case 1: r = (a >>> 0) < (b >>> 0) ? 1 : 0; return (r ^ (cc & 1)) !== 0;
      case 2: r = c.lres === 0 ? 1 : 0; return (r ^ (cc & 1)) !== 0;
      case 3: r = (a >>> 0) <= (b >>> 0) ? 1 : 0; return (r ^ (cc & 1)) !== 0;
      case 6: case 7: {
        const sh = c.lsz === 0 ? 24 : c.lsz === 1 ? 16 : 0;
        const sa = (a << sh) >> sh;
        const sb = (b << sh) >> sh;
        r = (cc >> 1) === 6 ? (sa < sb ? 1 : 0) : (sa <= sb ? 1 : 0);
        return (r ^ (cc & 1)) !== 0;
      }
      default: break;
    }
  }
  switch (cc >> 1) {
    case 0: r = getOF(c); break;
    case 1: r = getCF(c); break;
    case 2: r = getZF(c); break;
    case 3: r = getCF(c) | getZF(c); break;
    case 4: r = getSF(c); break;
    case 5: r = getPF(c); break;
    case 6: r = getSF(c) ^ getOF(c); break;
    default: r = getZF(c) | (getSF(c) ^ getOF(c)); break;
  }
  return (r ^ (cc & 1)) !== 0;
}

