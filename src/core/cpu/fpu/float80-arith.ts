/**
 * Correctly rounded extended-precision arithmetic: add/sub, mul, div, sqrt,
 * partial remainder, round-to-integer, scale and extract. All results are
 * computed exactly on BigInt significands (128 bits plus a sticky bit) and
 * rounded once by `roundPack` (SDM Vol. 1 §4.8, §8.1.5, Chapter 8 ops).
 */
import {
  BIAS, BIT127, C_DENORMAL, C_INF, C_NORMAL, C_SNAN, C_UNSUPPORTED, C_ZERO, DE,
  F80, FpEnv, IE, MASK128, MASK64, PE, RC_DOWN, RC_NEAREST, RC_UP, Unpacked, ZE,
  bitLength, classify, indefinite, infinity, isNaNClass, propagateNaN, roundToReg, unpack, zero,
} from './float80.ts';

/** Shared operand screening: unsupported formats and NaNs produce the result; denormals raise DE. */
export function screenBinary(env: FpEnv, a: F80, ca: number, b: F80, cb: number): F80 | null {
  if (ca === C_UNSUPPORTED || cb === C_UNSUPPORTED) { env.flags |= IE; return indefinite(); }
  if (isNaNClass(ca) || isNaNClass(cb)) return propagateNaN(env, a, ca, b, cb);
  if (ca === C_DENORMAL || cb === C_DENORMAL || env.memDenormal) env.flags |= DE;
  return null;
}

export function screenUnary(env: FpEnv, a: F80, ca: number): F80 | null {
  if (ca === C_UNSUPPORTED) { env.flags |= IE; return indefinite(); }
  if (isNaNClass(ca)) return propagateNaN(env, a, ca, null, 0);
  if (ca === C_DENORMAL) env.flags |= DE;
  return null;
}

function stickyShiftRight(x: bigint, n: number): bigint {
  if (n <= 0) return x;
  if (n >= 130) return x === 0n ? 0n : 1n;
  const s = BigInt(n);
  return (x >> s) | ((x & ((1n << s) - 1n)) !== 0n ? 1n : 0n);
}

/** Adds two unpacked finite values (either may be zero), rounding with `prec`. */
export function addUnpacked(env: FpEnv, a: Unpacked, b: Unpacked, prec: number): F80 {
  if (a.sig === 0n && b.sig === 0n) {
    if (a.sign === b.sign) return zero(a.sign);
    return zero(env.rc === RC_DOWN ? 1 : 0);
  }
  if (b.sig === 0n) return roundToReg(env, a.sign, a.e, a.sig << 64n, prec);
  if (a.sig === 0n) return roundToReg(env, b.sign, b.e, b.sig << 64n, prec);
  let x = a;
  let y = b;
  if (y.e > x.e || (y.e === x.e && y.sig > x.sig)) { x = b; y = a; }
  let e = x.e;
  const big = x.sig << 64n;
  const small = stickyShiftRight(y.sig << 64n, x.e - y.e);
  let s: bigint;
  if (x.sign === y.sign) {
    s = big + small;
    if (s > MASK128) { s = (s >> 1n) | (s & 1n); e++; }
  } else {
    s = big - small;
    if (s === 0n) return zero(env.rc === RC_DOWN ? 1 : 0);
    const n = 128 - bitLength(s);
    s <<= BigInt(n);
    e -= n;
  }
  return roundToReg(env, x.sign, e, s, prec);
}

/** a + b (or a − b when `subtract`), x87 semantics with precision control. */
export function fadd(env: FpEnv, a: F80, b: F80, subtract: boolean): F80 {
  const ca = classify(a.se, a.sig);
  const cb = classify(b.se, b.sig);
  const sp = screenBinary(env, a, ca, b, cb);
  if (sp) return sp;
  const sb = (b.se >>> 15) ^ (subtract ? 1 : 0);
  if (ca === C_INF || cb === C_INF) {
    if (ca === C_INF && cb === C_INF && a.sign !== sb) { env.flags |= IE; return indefinite(); }
    return ca === C_INF ? infinity(a.sign) : infinity(sb);
  }
  const ua = unpack(a.se, a.sig);
  const ub = unpack(b.se, b.sig);
  ub.sign = sb;
  return addUnpacked(env, ua, ub, env.pc);
}

export function fmul(env: FpEnv, a: F80, b: F80): F80 {
  const ca = classify(a.se, a.sig);
  const cb = classify(b.se, b.sig);
  const sp = screenBinary(env, a, ca, b, cb);
  if (sp) return sp;
  const sign = a.sign ^ b.sign;
  if (ca === C_INF || cb === C_INF) {
    if (ca === C_ZERO || cb === C_ZERO) { env.flags |= IE; return indefinite(); }
    return infinity(sign);
  }
  if (ca === C_ZERO || cb === C_ZERO) return zero(sign);
  const ua = unpack(a.se, a.sig);
  const ub = unpack(b.se, b.sig);
  let p = ua.sig * ub.sig;
  let e = ua.e + ub.e + 1;
  if (p < BIT127) { p <<= 1n; e--; }
  return roundToReg(env, sign, e, p, env.pc);
}

export function fdiv(env: FpEnv, a: F80, b: F80): F80 {
  const ca = classify(a.se, a.sig);
  const cb = classify(b.se, b.sig);
  const sp = screenBinary(env, a, ca, b, cb);
  if (sp) return sp;
  const sign = a.sign ^ b.sign;
  // Division by zero takes precedence over the dividend's denormal operand exception.
  if (cb === C_ZERO && ca !== C_ZERO && ca !== C_INF) { env.flags = (env.flags & ~DE) | ZE; return infinity(sign); }
  if (ca === C_INF) {
    if (cb === C_INF) { env.flags |= IE; return indefinite(); }
    return infinity(sign);
  }
  if (cb === C_INF) return zero(sign);
  if (cb === C_ZERO) {
    if (ca === C_ZERO) { env.flags |= IE; return indefinite(); }
    env.flags |= ZE;
    return infinity(sign);
  }
  if (ca === C_ZERO) return zero(sign);
  const ua = unpack(a.se, a.sig);
  const ub = unpack(b.se, b.sig);
  const n = ua.sig << 128n;
  let q = n / ub.sig;
  const sticky = q * ub.sig !== n ? 1n : 0n;
  let e = ua.e - ub.e;
  if (q > MASK128) q = (q >> 1n) | (q & 1n);
  else e--;
  return roundToReg(env, sign, e, q | sticky, env.pc);
}

/** Integer square root (floor) of a non-negative BigInt. */
export function isqrt(n: bigint): bigint {
  if (n < 2n) return n;
  const bits = bitLength(n);
  // Initial guess from a double, always >= the true root after a Newton step.
  let x: bigint;
  if (bits <= 100) x = BigInt(Math.ceil(Math.sqrt(Number(n)))) + 1n;
  else {
    const shift = bits - 100 + ((bits - 100) & 1);
    x = (BigInt(Math.ceil(Math.sqrt(Number(n >> BigInt(shift))))) + 1n) << BigInt(shift / 2);
  }
  for (;;) {
    const y = (x + n / x) >> 1n;
    if (y >= x) break;
    x = y;
  }
  while (x * x > n) x--;
  while ((x + 1n) * (x + 1n) <= n) x++;
  return x;
}

export function fsqrt(env: FpEnv, a: F80): F80 {
  const ca = classify(a.se, a.sig);
  // A negative operand is invalid before its denormal-ness is looked at.
  if (a.sign === 1 && (ca === C_DENORMAL || ca === C_NORMAL || ca === C_INF)) { env.flags |= IE; return indefinite(); }
  const sp = screenUnary(env, a, ca);
  if (sp) return sp;
  if (ca === C_ZERO) return a.clone();
  if (ca === C_INF) return a.clone();
  const u = unpack(a.se, a.sig);
  const odd = (u.e & 1) !== 0;
  const n = u.sig << (odd ? 192n : 191n);
  const r = isqrt(n);
  const sticky = r * r !== n ? 1n : 0n;
  const e = Math.floor(u.e / 2);
  return roundToReg(env, 0, e, r | sticky, env.pc);
}

/**
 * Round to integer per RC (FRNDINT), exact value arithmetic without
 * precision control. Returns the rounded value; sets PE and C1.
 */
export function roundIntegral(env: FpEnv, a: F80, rc: number): F80 {
  const u = unpack(a.se, a.sig);
  if (u.sig === 0n || u.e >= 63) return a.clone();
  env.roundedUp = false;
  let intPart: bigint;
  let frac: bigint;
  let fracBits: bigint;
  if (u.e < 0) {
    intPart = 0n;
    frac = u.sig;
    fracBits = BigInt(63 - u.e); // frac / 2^fracBits < 1
    if (u.e < -2) { frac = 1n; fracBits = 2n; } // strictly inside (0, 1/2)
  } else {
    fracBits = BigInt(63 - u.e);
    intPart = u.sig >> fracBits;
    frac = u.sig & ((1n << fracBits) - 1n);
  }
  if (frac === 0n) return a.clone();
  env.flags |= PE;
  const half = 1n << (fracBits - 1n);
  let inc: boolean;
  if (rc === RC_NEAREST) inc = frac > half || (frac === half && (intPart & 1n) === 1n);
  else if (rc === RC_DOWN) inc = u.sign === 1;
  else if (rc === RC_UP) inc = u.sign === 0;
  else inc = false;
  if (inc) { intPart += 1n; env.roundedUp = true; }
  return fromBigInt(u.sign, intPart);
}

/** An exact integer (|v| < 2^64) as an 80-bit value with the given sign. */
export function fromBigInt(sign: number, mag: bigint): F80 {
  if (mag === 0n) return zero(sign);
  const n = bitLength(mag);
  return new F80((sign << 15) | (n - 1 + BIAS), (mag << BigInt(64 - n)) & MASK64);
}

export function frndint(env: FpEnv, a: F80): F80 {
  const ca = classify(a.se, a.sig);
  const sp = screenUnary(env, a, ca);
  if (sp) return sp;
  if (ca === C_ZERO || ca === C_INF) return a.clone();
  return roundIntegral(env, a, env.rc);
}

/** FSCALE: a × 2^trunc(b). */
export function fscale(env: FpEnv, a: F80, b: F80): F80 {
  const ca = classify(a.se, a.sig);
  const cb = classify(b.se, b.sig);
  const sp = screenBinary(env, a, ca, b, cb);
  if (sp) return sp;
  if (cb === C_INF) {
    if (b.sign === 0) {
      if (ca === C_ZERO) { env.flags |= IE; return indefinite(); }
      return ca === C_INF ? a.clone() : infinity(a.sign);
    }
    if (ca === C_INF) { env.flags |= IE; return indefinite(); }
    return zero(a.sign);
  }
  if (ca === C_ZERO || ca === C_INF) return a.clone();
  const ub = unpack(b.se, b.sig);
  let n: number;
  if (ub.sig === 0n || ub.e < 0) n = 0;
  else if (ub.e >= 30) n = 1 << 30;
  else n = Number(ub.sig >> BigInt(63 - ub.e));
  if (ub.sign === 1) n = -n;
  const ua = unpack(a.se, a.sig);
  return roundToReg(env, ua.sign, ua.e + n, ua.sig << 64n, 64);
}

/** FXTRACT: returns [exponent, significand]; the significand goes to ST(0). */
export function fxtract(env: FpEnv, a: F80): [F80, F80] {
  const ca = classify(a.se, a.sig);
  const sp = screenUnary(env, a, ca);
  if (sp) return [sp, sp];
  if (ca === C_ZERO) {
    env.flags |= ZE;
    return [infinity(1), a.clone()];
  }
  if (ca === C_INF) return [infinity(0), a.clone()];
  const u = unpack(a.se, a.sig);
  const expVal = fromBigInt(u.e < 0 ? 1 : 0, BigInt(Math.abs(u.e)));
  return [expVal, new F80((u.sign << 15) | BIAS, u.sig)];
}

/**
 * FPREM (truncating quotient) / FPREM1 (round-to-nearest quotient), SDM
 * Vol. 2 FPREM/FPREM1. Returns the new ST(0) and the condition bits
 * (bit 0 = C0 = Q2, bit 1 = C1 = Q0, bit 2 = C2 = incomplete, bit 3 = C3 = Q1),
 * or c = -1 for an exception result.
 *
 * Partial reduction (exponent difference D ≥ 64): the SDM leaves N ("between
 * 32 and 63") implementation-dependent; the hardware reduces the exponent
 * difference by N = 32 + (D − 32) mod 32, i.e. to a multiple of 32, with a
 * truncated quotient (for FPREM1 too), and clears C0, C1 and C3.
 */
export function fprem(env: FpEnv, a: F80, b: F80, ieee: boolean): { r: F80; c: number } {
  const ca = classify(a.se, a.sig);
  const cb = classify(b.se, b.sig);
  const nan = isNaNClass(ca) || isNaNClass(cb) || ca === C_UNSUPPORTED || cb === C_UNSUPPORTED;
  // An invalid operand pair is reported before (and instead of) a denormal one.
  if (!nan && (ca === C_INF || cb === C_ZERO)) { env.flags |= IE; return { r: indefinite(), c: -1 }; }
  const sp = screenBinary(env, a, ca, b, cb);
  if (sp) return { r: sp, c: -1 };
  if (ca === C_ZERO || cb === C_INF) return { r: normaliseExact(env, a), c: 0 };
  const ua = unpack(a.se, a.sig);
  const ub = unpack(b.se, b.sig);
  const d = ua.e - ub.e;
  if (d >= 64) {
    const n = 32 + ((d - 32) % 32);
    const shift = d - n; // divisor is ST(1) × 2^shift
    const aa = ua.sig << BigInt(n);
    const q = aa / ub.sig;
    const r = aa - q * ub.sig;
    return { r: packExact(env, ua.sign, r, ub.e - 63 + shift), c: 4 };
  }
  // Full reduction: exact with common LSB weight.
  let aa: bigint;
  let bb: bigint;
  let lsb: number;
  if (d >= 0) { aa = ua.sig << BigInt(d); bb = ub.sig; lsb = ub.e - 63; }
  else { aa = ua.sig; bb = ub.sig << BigInt(-d); lsb = ua.e - 63; }
  let q = aa / bb;
  let r = aa - q * bb;
  let sign = ua.sign;
  if (ieee) {
    const twice = r << 1n;
    if (twice > bb || (twice === bb && (q & 1n) === 1n)) {
      q += 1n;
      r = bb - r;
      sign ^= 1;
    }
  }
  const res = r === 0n ? zero(ua.sign) : packExact(env, sign, r, lsb);
  const c = (Number(q & 1n) << 1) | Number((q >> 2n) & 1n) | (Number((q >> 1n) & 1n) << 3);
  return { r: res, c };
}

/** Packs sign × m × 2^lsb exactly (m < 2^64); denormal results raise UE only when unmasked. */
function packExact(env: FpEnv, sign: number, m: bigint, lsb: number): F80 {
  if (m === 0n) return zero(sign);
  const n = bitLength(m);
  const e = lsb + n - 1;
  return roundToReg(env, sign, e, m << BigInt(128 - n), 64);
}

function normaliseExact(env: FpEnv, a: F80): F80 {
  const c = classify(a.se, a.sig);
  if (c !== C_DENORMAL) return a.clone();
  const u = unpack(a.se, a.sig);
  return roundToReg(env, u.sign, u.e, u.sig << 64n, 64);
}

/** Comparison result: 0 equal, -1 less, 1 greater, 2 unordered. */
export function compareValues(a: F80, b: F80): number {
  const ua = unpack(a.se, a.sig);
  const ub = unpack(b.se, b.sig);
  const ca = classify(a.se, a.sig);
  const cb = classify(b.se, b.sig);
  const az = ca === C_ZERO;
  const bz = cb === C_ZERO;
  if (az && bz) return 0;
  const ka = ca === C_INF ? 2 : az ? 0 : 1;
  const kb = cb === C_INF ? 2 : bz ? 0 : 1;
  const sa = az ? 0 : ua.sign === 1 ? -1 : 1;
  const sb = bz ? 0 : ub.sign === 1 ? -1 : 1;
  if (sa !== sb) return sa < sb ? -1 : 1;
  // same sign, both non-zero
  let mag: number;
  if (ka !== kb) mag = ka < kb ? -1 : 1;
  else if (ka === 2) mag = 0;
  else if (ua.e !== ub.e) mag = ua.e < ub.e ? -1 : 1;
  else mag = ua.sig === ub.sig ? 0 : ua.sig < ub.sig ? -1 : 1;
  return sa < 0 ? -mag : mag;
}

/**
 * FCOM/FUCOM family comparison with exception screening. `quietNaNOk` is
 * true for the unordered forms (only SNaNs raise IE).
 */
export function fcompare(env: FpEnv, a: F80, b: F80, quietNaNOk: boolean): number {
  const ca = classify(a.se, a.sig);
  const cb = classify(b.se, b.sig);
  if (ca === C_UNSUPPORTED || cb === C_UNSUPPORTED) { env.flags |= IE; return 2; }
  if (isNaNClass(ca) || isNaNClass(cb)) {
    if (!quietNaNOk || ca === C_SNAN || cb === C_SNAN) env.flags |= IE;
    return 2;
  }
  if (ca === C_DENORMAL || cb === C_DENORMAL || env.memDenormal) env.flags |= DE;
  return compareValues(a, b);
}

