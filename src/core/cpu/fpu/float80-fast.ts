/**
 * Fast paths for the common case of x87 arithmetic: finite normal operands
 * whose exact result, before rounding, lies well inside the exponent range.
 *
 * Everything here works on plain numbers: a 64-bit significand is two uint32
 * halves (`hi` holds bit 63 = J), wider intermediates are uint32 words or
 * 16-bit limbs whose partial products stay below 2^53, so every step is exact.
 * No BigInt and no allocation. Operands are read from a register file by
 * slot index and results go to the typed array `OUT`, and scratch values live
 * in locals or typed arrays: a uint32 half of 2^30 or more is not a small
 * integer to V8, so passing it as an argument to a call that is not inlined,
 * or storing it in a module variable, would allocate a heap number.
 *
 * The BigInt code in float80*.ts stays the reference. Each function here
 * returns false, without touching the environment, whenever its input is not
 * a case it computes bit-identically (zeros, denormals, infinities, NaNs,
 * unsupported encodings, results near or beyond the exponent limits); the
 * caller then takes the slow path. When it returns true the environment holds
 * what the slow path would have left: PE if inexact and `roundedUp` (C1).
 */
import { BIAS, EXP_MAX, EXT_EMAX, EXT_EMIN, type FpEnv, PE, RC_DOWN, RC_NEAREST, RC_UP } from './float80.ts';
import { X87Storage } from './x87-storage.ts';

/**
 * A register file in the layout the fast paths read (the x87 unit's state
 * block, x87-storage.ts): slots 0..7 hold the physical registers
 * (sign/exponent word and the significand's uint32 halves), slot MEM a
 * memory operand widened to 80 bits.
 */
export const FastRegs = X87Storage;
export type FastRegs = X87Storage;
export const MEM = 8;

/**
 * The result of the last fast operation that returned true: OUT[0] is the
 * sign/exponent word, OUT[1] and OUT[2] the significand halves; for FST m64
 * OUT[1]/OUT[2] are the high/low halves of the double, for FST m32 OUT[2]
 * holds the single.
 */
export const OUT = new Uint32Array(3);

const TWO32 = 4294967296;
const TWO16 = 65536;
const TWO21 = 2097152;


/** A finite normal 80-bit value (biased exponent 1..7FFE with J set). */
export function isNormal(se: number, hi: number): boolean {
  const exp = se & EXP_MAX;
  return exp !== 0 && exp !== EXP_MAX && hi >= 0x80000000;
}

// ---- rounding -----------------------------------------------------------------

/**
 * Rounds sign × (hi:lo:w2:w3) × 2^(e − 127), the 128-bit significand
 * normalised (bit 127 set, any sticky bit already ORed into bit 0), to `prec`
 * bits exactly as `roundPack` does for an in-range result: truncate, then add
 * one unit in the last place when the rounding control asks for it; a carry
 * out of bit 63 gives 1.0 × 2^(e+1). The caller guarantees e + 1 stays
 * within range. The words are passed as arguments so that the hot callers
 * keep them in registers.
 */
function roundWords(env: FpEnv, sign: number, e: number, prec: number, hi: number, lo: number, w2: number, w3: number): void {
  // `rem` is the part below the unit within its word, `below` anything lower still.
  let rem: number;
  let half: number;
  let below: number;
  let odd: number;
  if (prec === 64) {
    rem = w2; half = 0x80000000; below = w3; odd = lo & 1;
  } else if (prec === 53) {
    rem = lo & 0x7ff; half = 0x400; below = w2 | w3; odd = (lo >>> 11) & 1;
  } else {
    rem = hi & 0xff; half = 0x80; below = lo | w2 | w3; odd = (hi >>> 8) & 1;
  }
  env.roundedUp = false;
  if (rem !== 0 || below !== 0) {
    let inc: boolean;
    const rc = env.rc;
    if (rc === RC_NEAREST) inc = rem > half || (rem === half && (below !== 0 || odd !== 0));
    else if (rc === RC_DOWN) inc = sign === 1;
    else if (rc === RC_UP) inc = sign === 0;
    else inc = false;
    // Truncate to `prec` bits.
    if (prec === 53) lo = (lo & ~0x7ff) >>> 0;
    else if (prec === 24) { hi = (hi & ~0xff) >>> 0; lo = 0; }
    if (inc) {
      env.roundedUp = true;
      if (prec === 24) hi += 0x100;
      else {
        lo += prec === 64 ? 1 : 0x800;
        if (lo >= TWO32) { lo -= TWO32; hi += 1; }
      }
      if (hi >= TWO32) { hi = 0x80000000; e++; } // all ones rounded up: a power of two
    }
    env.flags |= PE;
  }
  OUT[0] = (sign << 15) | (e + BIAS);
  OUT[1] = hi;
  OUT[2] = lo;
}

/** True when a pre-rounding exponent leaves the result normal after a possible carry. */
function regRangeOk(e: number): boolean {
  return e >= EXT_EMIN && e <= EXT_EMAX - 1;
}

// ---- add / subtract -----------------------------------------------------------------

/**
 * a + b, or a − b when `negB` is 1, for normal operands in slots a and b of
 * `f`. Mirrors
 * `addUnpacked`: the smaller operand is aligned into a 128-bit window with a
 * sticky bit, added or subtracted, normalised, and rounded once.
 */
export function fastAdd(env: FpEnv, f: FastRegs, a: number, b: number, negB: number): boolean {
  const seA = f.se[a]!;
  const hiA = f.hi[a]!;
  const seB = f.se[b]!;
  const hiB = f.hi[b]!;
  if (!isNormal(seA, hiA) || !isNormal(seB, hiB)) return false;
  const loA = f.lo[a]!;
  const loB = f.lo[b]!;
  const sa = seA >>> 15;
  const sb = (seB >>> 15) ^ negB;
  const ea = (seA & EXP_MAX) - BIAS;
  const eb = (seB & EXP_MAX) - BIAS;
  // x is the operand of larger magnitude.
  const bBigger = eb > ea || (eb === ea && (hiB > hiA || (hiB === hiA && loB > loA)));
  const xs = bBigger ? sb : sa;
  let e = bBigger ? eb : ea;
  let w0 = bBigger ? hiB : hiA;
  let w1 = bBigger ? loB : loA;
  const yhi = bBigger ? hiA : hiB;
  const ylo = bBigger ? loA : loB;
  const d = bBigger ? eb - ea : ea - eb;
  // Align y × 2^64 under x: shift right by d into y0..y3 (most significant
  // first), ORing bits shifted out of the 128-bit window into bit 0 as
  // `stickyShiftRight` does. Inline, in locals: JS has no multiple returns,
  // and shifts count mod 32, so each word boundary is its own case.
  let y0 = 0;
  let y1 = 0;
  let y2 = 0;
  let y3 = 0;
  if (d === 0) { y0 = yhi; y1 = ylo; }
  else if (d < 32) {
    y0 = yhi >>> d; y1 = ((yhi << (32 - d)) | (ylo >>> d)) >>> 0; y2 = (ylo << (32 - d)) >>> 0;
  } else if (d >= 128) y3 = 1; // only a sticky bit remains
  else {
    const r = d & 31;
    let a = yhi;
    let b = ylo;
    let c = 0;
    if (r !== 0) { a = yhi >>> r; b = ((yhi << (32 - r)) | (ylo >>> r)) >>> 0; c = (ylo << (32 - r)) >>> 0; }
    if (d < 64) { y1 = a; y2 = b; y3 = c; }
    else if (d < 96) { y2 = a; y3 = c !== 0 ? (b | 1) >>> 0 : b; }
    else y3 = (b | c) !== 0 ? (a | 1) >>> 0 : a;
  }
  let w2: number;
  let w3: number;
  if (sa === sb) {
    // x's low two words are zero: only the top two can carry.
    w2 = y2; w3 = y3;
    w1 += y1;
    let c = 0;
    if (w1 >= TWO32) { w1 -= TWO32; c = 1; }
    w0 += y0 + c;
    if (w0 >= TWO32) {
      // Carry into bit 128: shift right one, keeping the lost bit as sticky.
      w0 -= TWO32;
      w3 = ((w3 >>> 1) | (w2 << 31) | (w3 & 1)) >>> 0;
      w2 = ((w2 >>> 1) | (w1 << 31)) >>> 0;
      w1 = ((w1 >>> 1) | (w0 << 31)) >>> 0;
      w0 = ((w0 >>> 1) | 0x80000000) >>> 0;
      e++;
    }
  } else {
    // x's low two words are zero: 0 − y3, 0 − y2 − borrow, then the top two.
    let borrow = 0;
    w3 = 0;
    if (y3 !== 0) { w3 = TWO32 - y3; borrow = 1; }
    w2 = -y2 - borrow;
    borrow = 0;
    if (w2 < 0) { w2 += TWO32; borrow = 1; }
    w1 -= y1 + borrow;
    borrow = 0;
    if (w1 < 0) { w1 += TWO32; borrow = 1; }
    w0 -= y0 + borrow; // x ≥ y: no borrow out
    if (w0 === 0 && w1 === 0 && w2 === 0 && w3 === 0) {
      // Exact cancellation: +0, or −0 when rounding down (no PE, C1 = 0).
      env.roundedUp = false;
      OUT[0] = env.rc === RC_DOWN ? 0x8000 : 0;
      OUT[1] = 0;
      OUT[2] = 0;
      return true;
    }
    // Normalise: whole words first, then bits.
    while (w0 === 0) { w0 = w1; w1 = w2; w2 = w3; w3 = 0; e -= 32; }
    const n = Math.clz32(w0);
    if (n !== 0) {
      w0 = ((w0 << n) | (w1 >>> (32 - n))) >>> 0;
      w1 = ((w1 << n) | (w2 >>> (32 - n))) >>> 0;
      w2 = ((w2 << n) | (w3 >>> (32 - n))) >>> 0;
      w3 = (w3 << n) >>> 0;
      e -= n;
    }
  }
  if (!regRangeOk(e)) return false;
  roundWords(env, xs, e, env.pc, w0, w1, w2, w3);
  return true;
}

// ---- multiply ---------------------------------------------------------------------

/** a × b for normal operands in slots a and b: the exact 128-bit product from 21/22-bit limbs, rounded once. */
export function fastMul(env: FpEnv, f: FastRegs, a: number, b: number): boolean {
  const seA = f.se[a]!;
  const hiA = f.hi[a]!;
  const seB = f.se[b]!;
  const hiB = f.hi[b]!;
  if (!isNormal(seA, hiA) || !isNormal(seB, hiB)) return false;
  const loA = f.lo[a]!;
  const loB = f.lo[b]!;
  let e = (seA & EXP_MAX) + (seB & EXP_MAX) - 2 * BIAS + 1;
  if (e < EXT_EMIN - 1 || e > EXT_EMAX) return false; // cheap pre-check; refined below
  // Limbs of 22, 21 and 21 bits: nine partial products below 2^44, column sums below 2^46.
  const a0 = loA & 0x1fffff; const a1 = (loA >>> 21) | ((hiA & 0x3ff) << 11); const a2 = hiA >>> 10;
  const b0 = loB & 0x1fffff; const b1 = (loB >>> 21) | ((hiB & 0x3ff) << 11); const b2 = hiB >>> 10;
  // Normalise the columns to base 2^21: limb k has weight 2^(21k).
  let v = a0 * b0;
  let c = Math.floor(v / TWO21);
  const l0 = v - c * TWO21;
  v = a1 * b0 + a0 * b1 + c; c = Math.floor(v / TWO21); const l1 = v - c * TWO21;
  v = a2 * b0 + a1 * b1 + a0 * b2 + c; c = Math.floor(v / TWO21); const l2 = v - c * TWO21;
  v = a2 * b1 + a1 * b2 + c; c = Math.floor(v / TWO21); const l3 = v - c * TWO21;
  v = a2 * b2 + c; c = Math.floor(v / TWO21); const l4 = v - c * TWO21;
  const l5 = c; // below 2^23: the product is below 2^128
  // Regroup into 32-bit words (bits 127..96, 95..64, 63..32, 31..0).
  let w0 = ((l4 >>> 12) | (l5 << 9)) >>> 0;
  let w1 = ((l3 >>> 1) | (l4 << 20)) >>> 0;
  let w2 = ((l1 >>> 11) | (l2 << 10) | (l3 << 31)) >>> 0;
  let w3 = (l0 | (l1 << 21)) >>> 0;
  if (w0 < 0x80000000) {
    // The product of two significands in [1, 2) lies in [1, 4): at most one bit to normalise.
    w0 = ((w0 << 1) | (w1 >>> 31)) >>> 0;
    w1 = ((w1 << 1) | (w2 >>> 31)) >>> 0;
    w2 = ((w2 << 1) | (w3 >>> 31)) >>> 0;
    w3 = (w3 << 1) >>> 0;
    e--;
  }
  if (!regRangeOk(e)) return false;
  roundWords(env, (seA ^ seB) >>> 15, e, env.pc, w0, w1, w2, w3);
  return true;
}

// ---- divide -----------------------------------------------------------------------

/** The divisor as 16-bit limbs (B0 least significant). */
const B = new Float64Array(4);
/** DIV_STATE[0]: the divisor as an approximate double; [1], [2]: the running remainder (< divisor) as uint32 halves. */
const DIV_STATE = new Float64Array(3);
/** Scratch for T = R·2^32 − q·B as six 16-bit limbs, and R·2^32 the same way. */
const T = new Float64Array(6);
const R = new Float64Array(6);

/** T ← T + sgn·B over six limbs (sgn = ±1); returns the carry out of the top limb. */
function addB(sgn: number): number {
  let c = 0;
  for (let j = 0; j < 6; j++) {
    const v = T[j]! + (j < 4 ? sgn * B[j]! : 0) + c;
    c = Math.floor(v / TWO16);
    T[j] = v - c * TWO16;
  }
  return c;
}

/** T (six limbs plus the sign carry `top`) compared with B: −1, 0 or 1. */
function compareTB(top: number): number {
  if (top < 0) return -1;
  if (top > 0 || T[5] !== 0 || T[4] !== 0) return 1;
  for (let j = 3; j >= 0; j--) if (T[j] !== B[j]) return T[j]! < B[j]! ? -1 : 1;
  return 0;
}

/**
 * One radix-2^32 long-division step: q = floor(R·2^32 / B), R ← R·2^32 − q·B.
 * The double estimate is within one of q (relative error < 2^-50 on a value
 * < 2^32); the exact limb remainder then corrects it.
 */
function divStep(): number {
  const remHi = DIV_STATE[1]!;
  const remLo = DIV_STATE[2]!;
  let q = Math.floor((remHi * TWO32 + remLo) * TWO32 / DIV_STATE[0]!);
  const q1 = Math.floor(q / TWO16);
  const q0 = q - q1 * TWO16;
  R[2] = remLo & 0xffff; R[3] = remLo >>> 16; R[4] = remHi & 0xffff; R[5] = remHi >>> 16;
  let c = 0;
  for (let j = 0; j < 6; j++) {
    const p = (j < 4 ? q0 * B[j]! : 0) + (j >= 1 && j <= 4 ? q1 * B[j - 1]! : 0);
    const v = R[j]! - p + c;
    c = Math.floor(v / TWO16);
    T[j] = v - c * TWO16;
  }
  // Correct the estimate: afterwards 0 ≤ T < B.
  while (c < 0) { q--; c += addB(1); }
  while (compareTB(c) >= 0) { q++; c += addB(-1); }
  DIV_STATE[1] = T[3]! * TWO16 + T[2]!;
  DIV_STATE[2] = T[1]! * TWO16 + T[0]!;
  return q;
}

/**
 * a ÷ b for normal operands in slots a and b. The quotient of the significands A/B lies in
 * (1/2, 2): an integer digit (A ≥ B), two 32-bit fraction digits, and for
 * A < B one more bit, give the 65 leading quotient bits; the final remainder
 * is the sticky bit. That decides the rounding exactly as `fdiv`'s 128-bit
 * quotient does.
 */
export function fastDiv(env: FpEnv, f: FastRegs, a: number, b: number): boolean {
  const seA = f.se[a]!;
  const hiA = f.hi[a]!;
  const seB = f.se[b]!;
  const hiB = f.hi[b]!;
  if (!isNormal(seA, hiA) || !isNormal(seB, hiB)) return false;
  const loA = f.lo[a]!;
  const loB = f.lo[b]!;
  let e = (seA & EXP_MAX) - (seB & EXP_MAX);
  if (e < EXT_EMIN - 1 || e > EXT_EMAX) return false;
  B[0] = loB & 0xffff; B[1] = loB >>> 16; B[2] = hiB & 0xffff; B[3] = hiB >>> 16;
  DIV_STATE[0] = hiB * TWO32 + loB;
  const aGeB = hiA > hiB || (hiA === hiB && loA >= loB);
  if (aGeB) {
    // Integer digit 1: R = A − B.
    let lo = loA - loB;
    let borrow = 0;
    if (lo < 0) { lo += TWO32; borrow = 1; }
    DIV_STATE[1] = hiA - hiB - borrow;
    DIV_STATE[2] = lo;
  } else {
    DIV_STATE[1] = hiA;
    DIV_STATE[2] = loA;
  }
  const q1 = divStep();
  const q2 = divStep();
  const remHi = DIV_STATE[1]!;
  const remLo = DIV_STATE[2]!;
  let hi: number;
  let lo: number;
  let guard: number;
  let sticky: boolean;
  if (aGeB) {
    hi = 0x80000000 + Math.floor(q1 / 2);
    lo = (q1 & 1) * 0x80000000 + Math.floor(q2 / 2);
    guard = q2 & 1;
    sticky = remHi !== 0 || remLo !== 0;
  } else {
    e--;
    hi = q1;
    lo = q2;
    // One more quotient bit: is 2R ≥ B?
    const twoHi = remHi * 2 + (remLo >= 0x80000000 ? 1 : 0);
    const twoLo = (remLo * 2) % TWO32;
    const twoBig = twoHi >= TWO32;
    const cmp = twoBig ? 1 : twoHi !== hiB ? (twoHi > hiB ? 1 : -1) : twoLo !== loB ? (twoLo > loB ? 1 : -1) : 0;
    guard = cmp >= 0 ? 1 : 0;
    sticky = cmp === 0 ? false : cmp > 0 ? true : remHi !== 0 || remLo !== 0;
  }
  if (!regRangeOk(e)) return false;
  roundWords(env, (seA ^ seB) >>> 15, e, env.pc, hi, lo, guard * 0x80000000 + (sticky ? 1 : 0), 0);
  return true;
}

// ---- square root ------------------------------------------------------------------

/** M = S·2^(65 or 66) as ten 16-bit limbs; the root candidate r as five; D = M − r² as ten. */
const SM = new Float64Array(10);
const SR = new Float64Array(5);
const SD = new Float64Array(10);
const LIMB_WEIGHT = [1, TWO16, TWO32, TWO32 * TWO16, TWO32 * TWO32] as const;

/** SR ← the limbs of y, an integer-valued double below 2^80 (each step is exact: the remainders keep a subset of y's bits). */
function setRoot(y: number): void {
  let rest = y;
  for (let i = 4; i >= 0; i--) {
    const w = LIMB_WEIGHT[i]!;
    const l = Math.floor(rest / w);
    SR[i] = l;
    rest -= l * w;
  }
}

/** SR ← SR + c for a small integer c, renormalising the limbs (the top limb absorbs the carry). */
function addToRoot(c: number): void {
  let carry = c;
  for (let i = 0; i < 4; i++) {
    const v = SR[i]! + carry;
    carry = Math.floor(v / TWO16);
    SR[i] = v - carry * TWO16;
  }
  SR[4] = SR[4]! + carry;
}

/** SD ← M − SR² exactly; returns the signed carry above the ten limbs (negative when M < r²). */
function squareDiff(): number {
  let carry = 0;
  for (let k = 0; k < 10; k++) {
    let col = 0;
    for (let i = k < 4 ? 0 : k - 4; i <= (k < 4 ? k : 4); i++) col += SR[i]! * SR[k - i]!;
    const v = SM[k]! - col + carry;
    carry = Math.floor(v / TWO16);
    SD[k] = v - carry * TWO16;
  }
  return carry;
}

/** True when D = M − r² exceeds 2r, i.e. (r + 1)² ≤ M and r is too small. */
function remainderAboveTwoRoot(top: number): boolean {
  let carry = 0;
  let nonzero = false;
  for (let k = 0; k < 10; k++) {
    const v = SD[k]! - (k < 5 ? 2 * SR[k]! : 0) + carry;
    carry = Math.floor(v / TWO16);
    if (v - carry * TWO16 !== 0) nonzero = true;
  }
  carry += top;
  return carry > 0 || (carry === 0 && nonzero);
}

/**
 * √a for a positive normal operand in slot a. With a = S·2^(e−63), the root's 65
 * leading bits are r = floor(√M), M = S·2^65 (e even) or S·2^66 (e odd),
 * and the root is exact iff r² = M: the same guard and sticky information as
 * `fsqrt`'s 128-bit integer root. r comes from a double estimate (within
 * about 2^12), one Newton step on the exact remainder M − r², and a final
 * exact ±1 adjustment.
 */
export function fastSqrt(env: FpEnv, f: FastRegs, a: number): boolean {
  const se = f.se[a]!;
  const hi = f.hi[a]!;
  if (se >= 0x8000 || !isNormal(se, hi)) return false; // negative operands are invalid: slow path
  const lo = f.lo[a]!;
  const e = (se & EXP_MAX) - BIAS;
  const odd = e & 1;
  const scale = odd !== 0 ? 4 : 2;
  SM[0] = 0; SM[1] = 0; SM[2] = 0; SM[3] = 0; SM[9] = 0;
  let c = 0;
  for (let i = 0; i < 4; i++) {
    const half = i < 2 ? lo : hi;
    const v = ((i & 1) === 0 ? half & 0xffff : half >>> 16) * scale + c;
    c = Math.floor(v / TWO16);
    SM[4 + i] = v - c * TWO16;
  }
  SM[8] = c;
  const y = Math.floor(Math.sqrt((hi * TWO32 + lo) * (odd !== 0 ? 2 ** 66 : 2 ** 65)));
  setRoot(y);
  let top = squareDiff();
  let dApprox = top;
  for (let k = 9; k >= 0; k--) dApprox = dApprox * TWO16 + SD[k]!;
  addToRoot(Math.floor(dApprox / (2 * y)));
  top = squareDiff();
  while (top < 0) { addToRoot(-1); top = squareDiff(); }
  while (remainderAboveTwoRoot(top)) { addToRoot(1); top = squareDiff(); }
  let exact = top === 0;
  for (let k = 0; k < 10 && exact; k++) if (SD[k] !== 0) exact = false;
  // r = SR[4]·2^64 + … with SR[4] = 1: the significand is r >> 1, the guard r & 1.
  roundWords(env, 0, e >> 1, env.pc,
    SR[4]! * 0x80000000 + SR[3]! * 0x8000 + Math.floor(SR[2]! / 2),
    (SR[2]! % 2) * 0x80000000 + SR[1]! * 0x8000 + Math.floor(SR[0]! / 2),
    (SR[0]! % 2) * 0x80000000 + (exact ? 0 : 1), 0);
  return true;
}

// ---- memory formats ---------------------------------------------------------------

/**
 * Rounds the normal value in slot a to `bits` significand bits (OUT as
 * roundWords leaves it) when its exponent is within ±maxExp, so that the
 * stored single or double is normal even after rounding up; false otherwise.
 */
function roundForStore(env: FpEnv, f: FastRegs, a: number, maxExp: number, bits: number): boolean {
  const se = f.se[a]!;
  const hi = f.hi[a]!;
  if (!isNormal(se, hi)) return false;
  const e0 = (se & EXP_MAX) - BIAS;
  if (e0 < -maxExp || e0 > maxExp) return false;
  roundWords(env, se >>> 15, e0, bits, hi, f.lo[a]!, 0, 0);
  return true;
}

/**
 * FST m64 of the normal value in slot a whose double is normal too: rounds to
 * 53 bits per RC (PE and C1 as `toBinary`). The double goes to OUT[1] (sign,
 * exponent, top 20 fraction bits) and OUT[2].
 */
export function fastToDouble(env: FpEnv, f: FastRegs, a: number): boolean {
  if (!roundForStore(env, f, a, 1022, 53)) return false;
  const top = OUT[0]!;
  const h = OUT[1]!;
  const l = OUT[2]!;
  OUT[1] = ((top & 0x8000) << 16) | (((top & EXP_MAX) - BIAS + 1023) << 20) | ((h >>> 11) & 0xfffff);
  OUT[2] = ((h & 0x7ff) << 21) | (l >>> 11);
  return true;
}

/** FST m32 of the normal value in slot a whose single is normal too; the single goes to OUT[2]. */
export function fastToSingle(env: FpEnv, f: FastRegs, a: number): boolean {
  if (!roundForStore(env, f, a, 126, 24)) return false;
  const top = OUT[0]!;
  OUT[2] = ((top & 0x8000) << 16) | (((top & EXP_MAX) - BIAS + 127) << 23) | ((OUT[1]! >>> 8) & 0x7fffff);
  return true;
}

/**
 * Widens a binary64 (two uint32 halves) that is normal or zero into slot
 * `slot` (exact, no flags). Returns false, writing nothing, for denormals,
 * infinities and NaNs.
 */
export function fastFromDouble(f: FastRegs, slot: number, hi: number, lo: number): boolean {
  const exp = (hi >>> 20) & 0x7ff;
  if (exp === 0x7ff) return false;
  const sign = (hi >>> 16) & 0x8000;
  if (exp === 0) {
    if ((hi & 0xfffff) !== 0 || lo !== 0) return false;
    f.se[slot] = sign; f.hi[slot] = 0; f.lo[slot] = 0;
    return true;
  }
  f.se[slot] = sign | (exp - 1023 + BIAS);
  f.hi[slot] = 0x80000000 | ((hi & 0xfffff) << 11) | (lo >>> 21);
  f.lo[slot] = lo << 11;
  return true;
}

/** Widens a binary32 that is normal or zero into slot `slot` (exact); false, writing nothing, otherwise. */
export function fastFromSingle(f: FastRegs, slot: number, bits: number): boolean {
  const exp = (bits >>> 23) & 0xff;
  if (exp === 0xff) return false;
  const sign = (bits >>> 16) & 0x8000;
  if (exp === 0) {
    if ((bits & 0x7fffff) !== 0) return false;
    f.se[slot] = sign; f.hi[slot] = 0; f.lo[slot] = 0;
    return true;
  }
  f.se[slot] = sign | (exp - 127 + BIAS);
  f.hi[slot] = 0x80000000 | ((bits & 0x7fffff) << 8);
  f.lo[slot] = 0;
  return true;
}

/** A signed 32-bit integer into slot `slot` (always exact; zero is +0). */
export function fastFromInt32(f: FastRegs, slot: number, v: number): void {
  f.lo[slot] = 0;
  if (v === 0) { f.se[slot] = 0; f.hi[slot] = 0; return; }
  const mag = v < 0 ? -v : v;
  const lz = Math.clz32(mag);
  f.se[slot] = (v < 0 ? 0x8000 : 0) | (31 - lz + BIAS);
  f.hi[slot] = mag * 2 ** lz;
}

// ---- compare ------------------------------------------------------------------------

/**
 * Orders the values in slots a and b when each is normal or zero: −1, 0, 1;
 * or 2 when either is of another class (the caller then takes the slow path).
 */
export function fastCompare(f: FastRegs, a: number, b: number): number {
  const seA = f.se[a]!;
  const hiA = f.hi[a]!;
  const loA = f.lo[a]!;
  const seB = f.se[b]!;
  const hiB = f.hi[b]!;
  const loB = f.lo[b]!;
  const za = (seA & EXP_MAX) === 0 && hiA === 0 && loA === 0;
  const zb = (seB & EXP_MAX) === 0 && hiB === 0 && loB === 0;
  if ((!za && !isNormal(seA, hiA)) || (!zb && !isNormal(seB, hiB))) return 2;
  if (za && zb) return 0;
  const sa = za ? 0 : seA >= 0x8000 ? -1 : 1;
  const sb = zb ? 0 : seB >= 0x8000 ? -1 : 1;
  if (sa !== sb) return sa < sb ? -1 : 1;
  const ea = seA & EXP_MAX;
  const eb = seB & EXP_MAX;
  let mag: number;
  if (ea !== eb) mag = ea < eb ? -1 : 1;
  else if (hiA !== hiB) mag = hiA < hiB ? -1 : 1;
  else if (loA !== loB) mag = loA < loB ? -1 : 1;
  else mag = 0;
  return sa < 0 ? -mag : mag;
}
