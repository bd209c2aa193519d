/**
 * MUL / IMUL (1-, 2- and 3-operand) / DIV / IDIV without BigInt: 32x32→64
 * products from 16-bit partial products, 64/32 division in two exact
 * 48-bit-by-32-bit steps. #DE on a zero divisor or a quotient that does not
 * fit (SDM DIV/IDIV). Flags: CF = OF = "upper half significant"; SF/ZF/PF
 * follow the low result (undefined by the SDM).
 */
import type { CpuCore } from './state.ts';
import { setResultFlags } from './flags.ts';
import { raiseDE } from './exceptions.ts';

/** Results of the last 64-bit operation (avoids allocating). */
let mulLo = 0;
let mulHi = 0;

/** Unsigned 32x32 → 64 into mulLo/mulHi. */
function umul64(a: number, b: number): void {
  a >>>= 0;
  b >>>= 0;
  const al = a & 0xffff;
  const ah = a >>> 16;
  const bl = b & 0xffff;
  const bh = b >>> 16;
  const ll = al * bl;
  const lh = al * bh;
  const hl = ah * bl;
  const hh = ah * bh;
  const mid = (ll >>> 16) + (lh & 0xffff) + (hl & 0xffff);
  mulLo = ((mid << 16) | (ll & 0xffff)) | 0;
  mulHi = (hh + (lh >>> 16) + (hl >>> 16) + Math.floor(mid / 65536)) | 0;
}

/** Signed 32x32 → 64 into mulLo/mulHi. */
function smul64(a: number, b: number): void {
  umul64(a, b);
  let hi = mulHi;
  if ((a | 0) < 0) hi = (hi - b) | 0;
  if ((b | 0) < 0) hi = (hi - a) | 0;
  mulHi = hi;
}

/** MUL r/m (F6/F7 /4). */
export function mul(c: CpuCore, src: number, sz: number): void {
  const r = c.regs;
  if (sz === 0) {
    const p = (r[0] & 0xff) * (src & 0xff);
    r[0] = (r[0] & ~0xffff) | p;
    const f = p > 0xff ? 1 : 0;
    setResultFlags(c, p & 0xff, 0, f, f);
  } else if (sz === 1) {
    const p = (r[0] & 0xffff) * (src & 0xffff);
    r[0] = (r[0] & ~0xffff) | (p & 0xffff);
    r[2] = (r[2] & ~0xffff) | (p >>> 16);
    const f = p > 0xffff ? 1 : 0;
    setResultFlags(c, p & 0xffff, 1, f, f);
  } else {
    umul64(r[0], src);
    r[0] = mulLo;
    r[2] = mulHi;
    const f = mulHi !== 0 ? 1 : 0;
    setResultFlags(c, mulLo, 2, f, f);
  }
}

/** One-operand IMUL r/m (F6/F7 /5). */
export function imul1(c: CpuCore, src: number, sz: number): void {
  const r = c.regs;
  if (sz === 0) {
    const p = ((r[0] << 24) >> 24) * ((src << 24) >> 24);
    r[0] = (r[0] & ~0xffff) | (p & 0xffff);
    const f = p !== ((p << 24) >> 24) ? 1 : 0;
    setResultFlags(c, p & 0xff, 0, f, f);
  } else if (sz === 1) {
    const p = ((r[0] << 16) >> 16) * ((src << 16) >> 16);
    r[0] = (r[0] & ~0xffff) | (p & 0xffff);
    r[2] = (r[2] & ~0xffff) | ((p >> 16) & 0xffff);
    const f = p !== ((p << 16) >> 16) ? 1 : 0;
    setResultFlags(c, p & 0xffff, 1, f, f);
  } else {
    smul64(r[0], src);
    r[0] = mulLo;
    r[2] = mulHi;
    const f = mulHi !== (mulLo >> 31) ? 1 : 0;
    setResultFlags(c, mulLo, 2, f, f);
  }
}

/** Two/three-operand IMUL: returns the truncated product (sz 1 or 2). */
export function imul2(c: CpuCore, a: number, b: number, sz: number): number {
  if (sz === 1) {
    const p = ((a << 16) >> 16) * ((b << 16) >> 16);
    const f = p !== ((p << 16) >> 16) ? 1 : 0;
    setResultFlags(c, p & 0xffff, 1, f, f);
    return p & 0xffff;
  }
  // The low half from Math.imul; the product overflows 32 bits exactly when
  // the double product differs from it (it is exact while it fits in an
  // int32, and no rounding brings a larger magnitude back into that range).
  const lo = Math.imul(a, b);
  const f = (a | 0) * (b | 0) !== lo ? 1 : 0;
  setResultFlags(c, lo, 2, f, f);
  return lo;
}

/** DIV r/m (F6/F7 /6). Flags are left unchanged (undefined by the SDM). */
export function div(c: CpuCore, src: number, sz: number): void {
  const r = c.regs;
  if (sz === 0) {
    const d = src & 0xff;
    if (d === 0) raiseDE(c);
    const n = r[0] & 0xffff;
    const q = Math.floor(n / d);
    if (q > 0xff) raiseDE(c);
    r[0] = (r[0] & ~0xffff) | ((n % d) << 8) | q;
  } else if (sz === 1) {
    const d = src & 0xffff;
    if (d === 0) raiseDE(c);
    const n = ((r[2] & 0xffff) * 65536) + (r[0] & 0xffff);
    const q = Math.floor(n / d);
    if (q > 0xffff) raiseDE(c);
    r[0] = (r[0] & ~0xffff) | q;
    r[2] = (r[2] & ~0xffff) | (n % d);
  } else {
    const d = src >>> 0;
    if (d === 0) raiseDE(c);
    const hi = r[2] >>> 0;
    if (hi >= d) raiseDE(c);
    udiv64(hi, r[0] >>> 0, d);
    r[0] = divQ | 0;
    r[2] = divR | 0;
  }
}

let divQ = 0;
let divR = 0;

/** (hi:lo) / d with hi < d, all unsigned 32-bit: quotient fits in 32 bits. */
function udiv64(hi: number, lo: number, d: number): void {
  // Two steps of base-2^16 long division; every intermediate is < 2^48, exact in a double.
  let n = hi * 65536 + (lo >>> 16);
  const q1 = Math.floor(n / d);
  let rem = n - q1 * d;
  n = rem * 65536 + (lo & 0xffff);
  const q2 = Math.floor(n / d);
  rem = n - q2 * d;
  divQ = q1 * 65536 + q2;
  divR = rem;
}

/** IDIV r/m (F6/F7 /7). */
export function idiv(c: CpuCore, src: number, sz: number): void {
  const r = c.regs;
  if (sz === 0) {
    const d = (src << 24) >> 24;
    if (d === 0) raiseDE(c);
    const n = (r[0] << 16) >> 16;
    const q = Math.trunc(n / d);
    if (q > 127 || q < -128) raiseDE(c);
    const rm = n - q * d;
    r[0] = (r[0] & ~0xffff) | ((rm & 0xff) << 8) | (q & 0xff);
  } else if (sz === 1) {
    const d = (src << 16) >> 16;
    if (d === 0) raiseDE(c);
    const n = ((r[2] << 16) | (r[0] & 0xffff));
    const q = Math.trunc(n / d);
    if (q > 32767 || q < -32768) raiseDE(c);
    const rm = n - q * d;
    r[0] = (r[0] & ~0xffff) | (q & 0xffff);
    r[2] = (r[2] & ~0xffff) | (rm & 0xffff);
  } else {
    const d = src | 0;
    if (d === 0) raiseDE(c);
    let hi = r[2] | 0;
    let lo = r[0] >>> 0;
    const negN = hi < 0;
    if (negN) {
      // 64-bit two's complement negate.
      lo = (~lo + 1) >>> 0;
      hi = (~hi + (lo === 0 ? 1 : 0)) >>> 0;
    } else {
      hi >>>= 0;
    }
    const negD = d < 0;
    const ad = negD ? (-d) >>> 0 : d;
    if (hi >= ad) raiseDE(c);
    udiv64(hi, lo, ad);
    const negQ = negN !== negD;
    if (negQ ? divQ > 0x80000000 : divQ > 0x7fffffff) raiseDE(c);
    r[0] = negQ ? (-divQ) | 0 : divQ | 0;
    r[2] = negN ? (-divR) | 0 : divR | 0;
  }
}
