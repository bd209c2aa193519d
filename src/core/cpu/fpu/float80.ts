/**
 * 80-bit extended-precision values: representation, classification and the
 * rounding environment shared by the arithmetic and conversion code.
 *
 * A value is kept exactly as the x87 stores it in a register: `se` holds the
 * sign (bit 15) and the 15-bit biased exponent, `sig` the 64-bit significand
 * including the explicit integer bit J (bit 63), as an unsigned BigInt.
 */

export const BIAS = 16383;
export const EXP_MAX = 0x7fff;
export const J_BIT = 1n << 63n;
export const MASK64 = (1n << 64n) - 1n;
export const QUIET_BIT = 1n << 62n;
export const BIT127 = 1n << 127n;
export const MASK128 = (1n << 128n) - 1n;

/** Exception flag bits, identical to the status word / control word masks. */
export const IE = 0x01;
export const DE = 0x02;
export const ZE = 0x04;
export const OE = 0x08;
export const UE = 0x10;
export const PE = 0x20;
/** Stack fault (status word bit 6); always accompanies IE. */
export const SF = 0x40;

/** Rounding control (control word bits 11:10). */
export const RC_NEAREST = 0;
export const RC_DOWN = 1;
export const RC_UP = 2;
export const RC_ZERO = 3;

/** Extended exponent range (unbiased) and the bias adjust for unmasked O/U. */
export const EXT_EMIN = -16382;
export const EXT_EMAX = 16383;
export const BIAS_ADJUST = 24576;

export class F80 {
  constructor(public se: number, public sig: bigint) {}
  get sign(): number { return this.se >>> 15; }
  get exp(): number { return this.se & EXP_MAX; }
  clone(): F80 { return new F80(this.se, this.sig); }
}

/** Value classes. */
export const C_ZERO = 0;
export const C_DENORMAL = 1; // includes pseudo-denormals (exp 0, J set)
export const C_NORMAL = 2;
export const C_INF = 3;
export const C_QNAN = 4;
export const C_SNAN = 5;
export const C_UNSUPPORTED = 6; // unnormals, pseudo-infinities, pseudo-NaNs

export function classify(se: number, sig: bigint): number {
  const exp = se & EXP_MAX;
  if (exp === 0) return sig === 0n ? C_ZERO : C_DENORMAL;
  if ((sig & J_BIT) === 0n) return C_UNSUPPORTED;
  if (exp === EXP_MAX) {
    const frac = sig & ~J_BIT;
    if (frac === 0n) return C_INF;
    return (sig & QUIET_BIT) !== 0n ? C_QNAN : C_SNAN;
  }
  return C_NORMAL;
}

export function isNaNClass(c: number): boolean {
  return c === C_QNAN || c === C_SNAN;
}

/** The QNaN "real indefinite" (negative, 0xC000000000000000). */
export const INDEFINITE_SE = 0xffff;
export const INDEFINITE_SIG = 0xc000000000000000n;
export function indefinite(): F80 { return new F80(INDEFINITE_SE, INDEFINITE_SIG); }
export function zero(sign: number): F80 { return new F80(sign << 15, 0n); }
export function infinity(sign: number): F80 { return new F80((sign << 15) | EXP_MAX, J_BIT); }

/**
 * Per-instruction arithmetic environment: rounding control, precision
 * control (significand bits: 24, 53 or 64), the exception masks from the
 * control word, and the outputs: raised exception flags and C1 (whether the
 * last rounding increased the magnitude).
 */
export class FpEnv {
  rc = RC_NEAREST;
  pc = 64;
  masks = 0x3f;
  flags = 0;
  roundedUp = false;
  /** Set when a memory operand (m32/m64 real) was a denormal: it is normal once widened, but still raises DE. */
  memDenormal = false;

  setFromControlWord(cw: number): void {
    this.rc = (cw >>> 10) & 3;
    const pcBits = (cw >>> 8) & 3;
    this.pc = pcBits === 0 ? 24 : pcBits === 2 ? 53 : 64; // 01 is reserved; treated as 64 (as the hardware does)
    this.masks = cw & 0x3f;
    this.flags = 0;
    this.roundedUp = false;
    this.memDenormal = false;
  }

  /** True when any of `bits` was raised and is unmasked. */
  unmasked(bits: number): boolean {
    return (this.flags & bits & ~this.masks) !== 0;
  }
}

const TWO64 = 1n << 64n;

/** Number of significant bits of a non-negative BigInt (0 for 0n). */
export function bitLength(x: bigint): number {
  if (x === 0n) return 0;
  if (x >= J_BIT && x < TWO64) return 64; // a normalised significand: the common case, answered without allocating
  let n = 0;
  while (x >= TWO64) { x >>= 64n; n += 64; }
  const hi = Number(x >> 32n);
  if (hi !== 0) return n + 64 - Math.clz32(hi);
  return n + 32 - Math.clz32(Number(x));
}

/**
 * An operand unpacked for arithmetic: value = sig × 2^(e − 63) with `sig`
 * normalised (bit 63 set) for non-zero finite values. Denormals and
 * pseudo-denormals are normalised here (their exponent is that of 2^-16382).
 */
export class Unpacked {
  constructor(public sign: number, public e: number, public sig: bigint) {}
}

export function unpack(se: number, sig: bigint): Unpacked {
  const sign = se >>> 15;
  const exp = se & EXP_MAX;
  if (sig === 0n) return new Unpacked(sign, EXT_EMIN, 0n);
  let e = exp === 0 ? EXT_EMIN : exp - BIAS;
  const shift = 64 - bitLength(sig);
  if (shift > 0) { sig <<= BigInt(shift); e -= shift; }
  return new Unpacked(sign, e, sig);
}

/** Result of rounding: value = sig × 2^(e − 63), sig a 64-bit integer. */
export class Rounded {
  sign = 0;
  e = 0;
  sig = 0n;
  inf = false;
}

/**
 * Rounds sign × sig128 × 2^(e − 127) (sig128 normalised with bit 127 set,
 * or 0n; any lost bits already ORed into bit 0) to `prec` significand bits in
 * a format with exponent range [emin, emax], applying the masked/unmasked
 * underflow and overflow responses. `biasAdjust` is 24576 for register
 * destinations (unmasked O/U deliver a re-biased result) and 0 for memory
 * destinations (the caller then stores nothing).
 */
export function roundPack(env: FpEnv, out: Rounded, sign: number, e: number, sig: bigint,
  prec: number, emin: number, emax: number, biasAdjust: number): void {
  out.sign = sign;
  out.inf = false;
  env.roundedUp = false;
  if (sig === 0n) { out.e = emin; out.sig = 0n; return; }
  const k = roundingConstants(prec);
  const rbits = k.rbits;
  const unit = k.unit;
  const lowMask = k.lowMask;
  const half = k.half;
  const rc = env.rc;

  let tiny = false;
  if (e < emin) {
    // Tininess is detected after rounding (to `prec` bits, unbounded exponent):
    // a value just below 2^emin that rounds up to it is not tiny.
    tiny = e < emin - 1 || !roundsToCarry(sig, sign, rc, rbits, unit, half, lowMask);
    if ((env.masks & UE) !== 0) {
      // Masked underflow: denormalise first, then round at the same position.
      const shift = emin - e;
      if (shift >= 130) sig = 1n;
      else {
        const s = BigInt(shift);
        const lost = (sig & ((1n << s) - 1n)) !== 0n;
        sig = (sig >> s) | (lost ? 1n : 0n);
      }
      e = emin;
    }
  }

  const rem = sig & lowMask;
  let inexact = false;
  if (rem !== 0n) {
    inexact = true;
    let inc: boolean;
    if (rc === RC_NEAREST) inc = rem > half || (rem === half && (sig & unit) !== 0n);
    else if (rc === RC_DOWN) inc = sign === 1;
    else if (rc === RC_UP) inc = sign === 0;
    else inc = false;
    sig -= rem;
    if (inc) {
      sig += unit;
      env.roundedUp = true;
      if (sig > MASK128) { sig >>= 1n; e++; }
    }
  }

  if (tiny) {
    if ((env.masks & UE) !== 0) {
      if (inexact) env.flags |= UE | PE;
    } else {
      env.flags |= UE;
      if (inexact) env.flags |= PE;
      e += biasAdjust;
      if (e < emin) {
        // Still tiny after the bias adjust (FSCALE by a huge negative count): zero.
        env.flags |= PE;
        env.roundedUp = false;
        out.e = emin;
        out.sig = 0n;
        return;
      }
    }
  } else if (e > emax) {
    if ((env.masks & OE) !== 0) {
      env.flags |= OE | PE;
      const toInf = rc === RC_NEAREST || (rc === RC_UP && sign === 0) || (rc === RC_DOWN && sign === 1);
      if (toInf) {
        out.inf = true;
        out.e = emax + 1;
        out.sig = J_BIT;
        env.roundedUp = true;
      } else {
        out.e = emax;
        out.sig = (MASK128 >> rbits << rbits) >> 64n;
        env.roundedUp = false;
      }
      return;
    }
    env.flags |= OE;
    if (inexact) env.flags |= PE;
    e -= biasAdjust;
    if (e > emax) {
      // Still out of range after the bias adjust (FSCALE by a huge count): infinity.
      env.flags |= PE;
      env.roundedUp = true;
      out.inf = true;
      out.e = emax + 1;
      out.sig = J_BIT;
      return;
    }
  } else if (inexact) {
    env.flags |= PE;
  }
  out.e = e;
  out.sig = sig >> 64n;
}

/** The BigInt constants of rounding a 128-bit significand to `prec` bits, made once per precision (they were four allocations per rounding). */
interface RoundingConstants { rbits: bigint; unit: bigint; lowMask: bigint; half: bigint }
const ROUNDING_CONSTANTS: (RoundingConstants | undefined)[] = [];
function roundingConstants(prec: number): RoundingConstants {
  let k = ROUNDING_CONSTANTS[prec];
  if (k === undefined) {
    const rbits = BigInt(128 - prec);
    const unit = 1n << rbits;
    k = { rbits, unit, lowMask: unit - 1n, half: unit >> 1n };
    ROUNDING_CONSTANTS[prec] = k;
  }
  return k;
}

/** True when rounding `sig` (bit 127 set) at `rbits` carries out of bit 127. */
function roundsToCarry(sig: bigint, sign: number, rc: number, rbits: bigint, unit: bigint, half: bigint, lowMask: bigint): boolean {
  if ((sig >> rbits) !== (MASK128 >> rbits)) return false;
  const rem = sig & lowMask;
  if (rem === 0n) return false;
  if (rc === RC_NEAREST) return rem > half || (rem === half && (sig & unit) !== 0n);
  if (rc === RC_DOWN) return sign === 1;
  if (rc === RC_UP) return sign === 0;
  return false;
}

/** Packs a rounded result into the 80-bit register format. */
export function packF80(r: Rounded): F80 {
  const s = r.sign << 15;
  if (r.inf) return new F80(s | EXP_MAX, J_BIT);
  if (r.sig === 0n) return new F80(s, 0n);
  if ((r.sig & J_BIT) === 0n) return new F80(s, r.sig); // denormal
  return new F80(s | ((r.e + BIAS) & EXP_MAX), r.sig);
}

/** Rounds to the register format using the precision control. */
export function roundToReg(env: FpEnv, sign: number, e: number, sig128: bigint, prec = env.pc): F80 {
  const r = new Rounded();
  roundPack(env, r, sign, e, sig128, prec, EXT_EMIN, EXT_EMAX, BIAS_ADJUST);
  return packF80(r);
}

export function quiet(v: F80): F80 {
  return new F80(v.se, v.sig | QUIET_BIT);
}

/**
 * x87 NaN propagation (SDM Vol. 1 Table 4-7): SNaNs are quieted; of two NaNs
 * a QNaN wins over an SNaN, otherwise the larger significand wins.
 * Sets IE if an SNaN is involved.
 */
export function propagateNaN(env: FpEnv, a: F80, ca: number, b: F80 | null, cb: number): F80 {
  if (ca === C_SNAN || cb === C_SNAN) env.flags |= IE;
  const aNaN = isNaNClass(ca);
  const bNaN = b !== null && isNaNClass(cb);
  if (aNaN && bNaN) {
    if (ca === C_QNAN && cb === C_SNAN) return quiet(a);
    if (ca === C_SNAN && cb === C_QNAN) return quiet(b!);
    if (a.sig > b!.sig) return quiet(a);
    if (b!.sig > a.sig) return quiet(b!);
    return quiet(a.se < b!.se ? a : b!);
  }
  return quiet(aNaN ? a : b!);
}
