/**
 * The memory operand of a 32-bit ModRM byte (mod != 3), decoded from code
 * bytes ahead of time (SDM Vol. 2 tables 2-2 and 2-3): base, index, scale
 * and displacement, not an address. The interpreter's block tier and the
 * JIT's block decoder both read operands this way; decoder.ts computes the
 * address itself while the instruction runs.
 */
export interface MemOperand32 {
  /** Base and index registers, -1 for none; scale is the SIB shift (0 without a SIB byte). */
  base: number;
  index: number;
  scale: number;
  disp: number;
  /** The default segment is SS (an EBP or ESP base). */
  ssDefault: boolean;
  /** The SIB base is ESP (POP r/m computes the address after the pop). */
  sibBaseEsp: boolean;
}

/**
 * Decode the operand of `modrm`, whose SIB/displacement bytes start at host
 * offset `p` of `mem8` and must end before `end`. Fills `out`; returns the
 * offset after the operand's bytes, or -1 when they would run past `end`.
 */
export function decodeMemOperand32(mem8: Uint8Array, p: number, end: number, modrm: number, out: MemOperand32): number {
  const mod = modrm >> 6;
  const rm = modrm & 7;
  out.base = -1;
  out.index = -1;
  out.scale = 0;
  out.disp = 0;
  out.ssDefault = false;
  out.sibBaseEsp = false;
  if (rm === 4) {
    if (p >= end) return -1;
    const sib = mem8[p++]!;
    const idx = (sib >> 3) & 7;
    const base = sib & 7;
    if (idx !== 4) out.index = idx;
    out.scale = sib >> 6;
    if (base === 5 && mod === 0) {
      if (p + 4 > end) return -1;
      out.disp = read32(mem8, p);
      p += 4;
    } else {
      out.base = base;
      out.ssDefault = base === 4 || base === 5;
      out.sibBaseEsp = base === 4;
    }
  } else if (rm === 5 && mod === 0) {
    if (p + 4 > end) return -1;
    out.disp = read32(mem8, p);
    p += 4;
  } else {
    out.base = rm;
    out.ssDefault = rm === 5;
  }
  if (mod === 1) {
    if (p >= end) return -1;
    out.disp = (mem8[p++]! << 24) >> 24;
  } else if (mod === 2) {
    if (p + 4 > end) return -1;
    out.disp = read32(mem8, p);
    p += 4;
  }
  return p;
}

/** Little-endian int32 at p (the caller checked the bounds). */
export function read32(mem8: Uint8Array, p: number): number {
  return mem8[p]! | (mem8[p + 1]! << 8) | (mem8[p + 2]! << 16) | (mem8[p + 3]! << 24);
}
