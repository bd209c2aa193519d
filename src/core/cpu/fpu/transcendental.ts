/**
 * Transcendental instructions (FSIN, FCOS, FSINCOS, FPTAN, FPATAN, F2XM1,
 * FYL2X, FYL2XP1). These are accurate to about one double-precision ulp, not
 * bit-exact with the hardware: the core evaluation uses Math.* on doubles
 * after an exact (BigInt) argument reduction and exponent splitting, so the
 * extended exponent range is still handled.
 */
import {
  BIAS, BIAS_ADJUST, C_DENORMAL, C_INF, C_NORMAL, C_QNAN, C_SNAN, C_UNSUPPORTED, C_ZERO, DE, F80, FpEnv, IE, J_BIT, MASK64, PE,
  UE, ZE, bitLength, classify,
  indefinite, infinity, unpack, zero,
} from './float80.ts';
import { fadd, fdiv, fmul, screenBinary, screenUnary } from './float80-arith.ts';

// ---- double <-> 80-bit ------------------------------------------------------

const f64 = new Float64Array(1);
const u64 = new BigUint64Array(f64.buffer);

/** Exact conversion of a double (finite or not) to the 80-bit format. */
export function fromDouble(d: number): F80 {
  f64[0] = d;
  const bits = u64[0]!;
  const sign = Number(bits >> 63n);
  const exp = Number((bits >> 52n) & 0x7ffn);
  const frac = bits & ((1n << 52n) - 1n);
  if (exp === 0x7ff) return frac === 0n ? infinity(sign) : new F80((sign << 15) | 0x7fff, J_BIT | (1n << 62n) | (frac << 11n));
  if (exp === 0) {
    if (frac === 0n) return zero(sign);
    const n = bitLength(frac);
    return new F80((sign << 15) | (-1074 + n - 1 + BIAS), (frac << BigInt(64 - n)) & MASK64);
  }
  return new F80((sign << 15) | (exp - 1023 + BIAS), J_BIT | (frac << 11n));
}

/** 2^n as a double for any integer n in the double range, exactly. */
function pow2(n: number): number {
  if (n > 1023) return Infinity;
  if (n >= -1022) { u64[0] = BigInt(n + 1023) << 52n; return f64[0]!; }
  if (n >= -1074) { u64[0] = 1n << BigInt(n + 1074); return f64[0]!; }
  return 0;
}

/** Nearest double (round-to-nearest) of a finite extended value, as m × 2^shift with m in [1, 2). */
function splitExp(a: F80): { m: number; e: number } {
  const u = unpack(a.se, a.sig);
  // Number(BigInt) rounds to nearest even.
  const m = Number(u.sig) / 2 ** 63;
  return { m: u.sign ? -m : m, e: u.e };
}

export function toDouble(a: F80): number {
  const c = classify(a.se, a.sig);
  if (c === C_ZERO) return a.sign ? -0 : 0;
  if (c === C_INF) return a.sign ? -Infinity : Infinity;
  if (c !== C_NORMAL && c !== C_DENORMAL) return NaN;
  const { m, e } = splitExp(a);
  if (e > 1023) return m * Infinity;
  if (e < -1080) return m * 0;
  if (e < -1022) return m * pow2(e + 100) * pow2(-100);
  return m * pow2(e);
}

function inexactResult(env: FpEnv, d: number): F80 {
  env.flags |= PE;
  env.roundedUp = false;
  return fromDouble(d);
}

// ---- argument reduction -----------------------------------------------------

const FRAC = 256n;
let pio2Fixed = 0n;

/** atan(1/x) × 2^FRAC by its Taylor series (x > 1). */
function atanInv(x: bigint, one: bigint): bigint {
  const x2 = x * x;
  let term = one / x;
  let sum = term;
  for (let k = 1n; term !== 0n; k++) {
    term /= x2;
    const t = term / (2n * k + 1n);
    sum = (k & 1n) === 1n ? sum - t : sum + t;
  }
  return sum;
}

/** π/2 with FRAC + 8 fraction bits, by Machin's formula (computed once). */
function halfPi(): bigint {
  if (pio2Fixed === 0n) {
    const guard = 16n;
    const one = 1n << (FRAC + guard);
    const pi = 16n * atanInv(5n, one) - 4n * atanInv(239n, one);
    pio2Fixed = pi >> (guard + 1n);
  }
  return pio2Fixed;
}

/**
 * Reduces finite |x| < 2^63 to x = k·π/2 + r with |r| ≤ π/4. Returns the
 * quadrant k mod 4 and r as a double.
 */
function reduce(a: F80): { k: number; r: number; rlo: number } {
  const u = unpack(a.se, a.sig);
  const shift = u.e - 63 + Number(FRAC);
  let x = shift >= 0 ? u.sig << BigInt(shift) : u.sig >> BigInt(-shift);
  const p = halfPi();
  const k = (2n * x + p) / (2n * p);
  x -= k * p;
  // r as hi + lo doubles
  const scale = 2 ** Number(FRAC);
  const hi = Number(x) / scale;
  const hiFixed = BigInt(Math.round(hi * 2 ** 60)) << (FRAC - 60n);
  const lo = Number(x - hiFixed) / scale + (Number(hiFixed) / scale - hi);
  const q = Number(k & 3n);
  return { k: u.sign ? (4 - q) & 3 : q, r: u.sign ? -hi : hi, rlo: u.sign ? -lo : lo };
}

/** The operand as a double when it is exactly representable as a normal double, else null. */
function exactDouble(a: F80): number | null {
  const u = unpack(a.se, a.sig);
  if (u.sig === 0n || (u.sig & 0x7ffn) !== 0n || u.e < -1022 || u.e > 1023) return null;
  return toDouble(a);
}

/** Trig out-of-range: |x| ≥ 2^63 (C2 = 1, operand unchanged). */
export function trigOutOfRange(a: F80): boolean {
  const c = classify(a.se, a.sig);
  return (c === C_NORMAL) && (a.se & 0x7fff) - BIAS >= 63;
}

/** Screens a trig operand; returns a result for NaN/inf/unsupported, or null. */
function screenTrig(env: FpEnv, a: F80): F80 | null {
  const c = classify(a.se, a.sig);
  const sp = screenUnary(env, a, c);
  if (sp) return sp;
  if (c === C_INF) { env.flags |= IE; return indefinite(); }
  return null;
}

const TINY_E = -33;

/**
 * f(x) ≈ x for tiny x (sin, tan): inexact; a denormal result underflows
 * (masked: UE + PE; unmasked: the result is delivered re-biased by 2^24576).
 */
function tinyResult(env: FpEnv, a: F80): F80 {
  env.flags |= PE;
  if (classify(a.se, a.sig) !== C_DENORMAL) return a.clone();
  env.flags |= UE;
  if ((env.masks & UE) !== 0) return a.clone();
  const u = unpack(a.se, a.sig);
  return new F80((a.se & 0x8000) | (u.e + BIAS + BIAS_ADJUST), u.sig);
}

/** Returns [sin, cos] of a finite in-range operand (after screening). */
function sinCosValue(env: FpEnv, a: F80, wantSin: boolean): F80 {
  const c = classify(a.se, a.sig);
  if (c === C_ZERO) return wantSin ? a.clone() : fromDouble(1);
  const u = unpack(a.se, a.sig);
  if (u.e < TINY_E) {
    if (!wantSin) { env.flags |= PE; return fromDouble(1); }
    return tinyResult(env, a);
  }
  const d = exactDouble(a);
  if (d !== null) return inexactResult(env, wantSin ? Math.sin(d) : Math.cos(d));
  const { k, r, rlo } = reduce(a);
  // sin/cos(r + rlo) ≈ sin/cos(r) ± rlo·cos/sin(r)
  const s = Math.sin(r) + rlo * Math.cos(r);
  const co = Math.cos(r) - rlo * Math.sin(r);
  let v: number;
  if (wantSin) v = k === 0 ? s : k === 1 ? co : k === 2 ? -s : -co;
  else v = k === 0 ? co : k === 1 ? -s : k === 2 ? -co : s;
  return inexactResult(env, v);
}

export function fsin(env: FpEnv, a: F80): F80 {
  return screenTrig(env, a) ?? sinCosValue(env, a, true);
}

export function fcos(env: FpEnv, a: F80): F80 {
  return screenTrig(env, a) ?? sinCosValue(env, a, false);
}

/** FSINCOS: [sin, cos] (sin ends in ST(1), cos in ST(0)). */
export function fsincos(env: FpEnv, a: F80): [F80, F80] {
  const sp = screenTrig(env, a);
  if (sp) return [sp, sp];
  return [sinCosValue(env, a, true), sinCosValue(env, a, false)];
}

export function ftan(env: FpEnv, a: F80): F80 {
  const sp = screenTrig(env, a);
  if (sp) return sp;
  const c = classify(a.se, a.sig);
  if (c === C_ZERO) return a.clone();
  const u = unpack(a.se, a.sig);
  if (u.e < TINY_E) return tinyResult(env, a);
  const d = exactDouble(a);
  if (d !== null) return inexactResult(env, Math.tan(d));
  const { k, r, rlo } = reduce(a);
  const t = Math.tan(r);
  const tc = t + rlo * (1 + t * t);
  return inexactResult(env, (k & 1) === 0 ? tc : -1 / tc);
}

// ---- FPATAN -----------------------------------------------------------------

/** FPATAN: atan2(y, x) with y = ST(1), x = ST(0). */
export function fpatan(env: FpEnv, y: F80, x: F80): F80 {
  const cy = classify(y.se, y.sig);
  const cx = classify(x.se, x.sig);
  const sp = screenBinary(env, y, cy, x, cx);
  if (sp) return sp;
  if (cy === C_ZERO || cy === C_INF || cx === C_ZERO || cx === C_INF) {
    // IEEE atan2 special values; finite non-zero operands stand in as ±1.
    const rep = (v: F80, c: number): number => (v.sign ? -1 : 1) * (c === C_ZERO ? 0 : c === C_INF ? Infinity : 1);
    const v = Math.atan2(rep(y, cy), rep(x, cx));
    if (v === 0) return zero(y.sign);
    return piMultiple(env, v / Math.PI, y.sign);
  }
  const uy = unpack(y.se, y.sig);
  const ux = unpack(x.se, x.sig);
  const d = uy.e - ux.e;
  const t = new FpEnv();
  t.rc = env.rc;
  t.masks = env.masks;
  if (x.sign === 0 && d < -70) {
    // atan(y/x) = y/x to extended precision.
    const q = fdiv(t, y, x);
    env.flags |= (t.flags & ~DE) | PE;
    return q;
  }
  // atan(y/x), |y/x| folded to ≤ 1, then the quadrant, summed in extended precision.
  const quiet = new FpEnv();
  let a: F80;
  if (d <= 0 && (d < 0 || uy.sig <= ux.sig)) a = atanExt(fdiv(quiet, y, x));
  else {
    const inv = atanExt(fdiv(quiet, x, y));
    a = fadd(quiet, new F80(((y.sign ^ x.sign) << 15) | 0x3fff, PI_SIG), inv, true);
  }
  if (x.sign === 1) a = fadd(quiet, a, new F80((y.sign << 15) | 0x4000, PI_SIG), false);
  env.flags |= PE;
  return a;
}

/** atan(q) for |q| ≤ 1: atan(qd) + (q − qd)/(1 + qd²), in extended precision. */
function atanExt(q: F80): F80 {
  const quiet = new FpEnv();
  const qd = toDouble(q);
  const lo = toDouble(fadd(quiet, q, fromDouble(qd), true)) / (1 + qd * qd);
  return fadd(quiet, fromDouble(Math.atan(qd)), fromDouble(lo), false);
}

const PI_SIG = 0xc90fdaa22168c235n; // π, π/2 with exponents 0x4000, 0x3fff

/** ±π·m for m in {1/4, 1/2, 3/4, 1}, rounded to extended precision. */
function piMultiple(env: FpEnv, m: number, sign: number): F80 {
  env.flags |= PE;
  const a = Math.abs(m);
  const s = sign << 15;
  if (a === 1) return new F80(s | 0x4000, PI_SIG);
  if (a === 0.5) return new F80(s | 0x3fff, PI_SIG);
  if (a === 0.25) return new F80(s | 0x3ffe, PI_SIG);
  const r = mulExt(env, new F80(0x4000, PI_SIG), new F80(0x3ffe, 0xc000000000000000n));
  return new F80(s | r.se, r.sig);
}

// ---- F2XM1 ------------------------------------------------------------------

/** F2XM1: 2^x − 1 for −1 ≤ x ≤ 1 (outside that range the result is undefined on hardware). */
export function f2xm1(env: FpEnv, a: F80): F80 {
  const c = classify(a.se, a.sig);
  const sp = screenUnary(env, a, c);
  if (sp) return sp;
  if (c === C_ZERO) return a.clone();
  if (c === C_INF) return a.sign ? fromDouble(-1) : a.clone();
  const u = unpack(a.se, a.sig);
  if (u.e >= 0 && !(u.e === 0 && u.sig === J_BIT)) {
    // |x| > 1: undefined in the SDM; the host CPU returns the operand (with PE).
    env.flags |= PE;
    return a.clone();
  }
  // t = x·ln 2 to 64 bits, split into hi + lo doubles.
  const t = mulExt(env, a, LN2_80);
  if (u.e < -60) { env.flags |= PE; return t; } // 2^x − 1 ≈ x·ln 2
  const hi = toDouble(t);
  const lo = toDouble(fadd(new FpEnv(), t, fromDouble(hi), true));
  // expm1(hi + lo) ≈ expm1(hi) + lo·(1 + expm1(hi)).
  const em = Math.expm1(hi);
  return inexactResult(env, em + lo * (1 + em));
}

// ---- FYL2X / FYL2XP1 ----------------------------------------------------------

/** ln 2 and log2(e) rounded to 64 bits (nearest). */
export const LN2_80 = new F80(0x3ffe, 0xb17217f7d1cf79acn);
export const LOG2E_80 = new F80(0x3fff, 0xb8aa3b295c17f0bcn);

function mulExt(env: FpEnv, a: F80, b: F80): F80 {
  const t = new FpEnv();
  t.rc = env.rc;
  t.masks = env.masks;
  const r = fmul(t, a, b);
  env.flags |= t.flags & ~DE;
  return r;
}

/** FYL2X: y × log2(x). */
export function fyl2x(env: FpEnv, y: F80, x: F80): F80 {
  const cy = classify(y.se, y.sig);
  const cx = classify(x.se, x.sig);
  // A negative x is invalid before any denormal operand is reported.
  const nan = cx === C_QNAN || cx === C_SNAN || cy === C_QNAN || cy === C_SNAN || cx === C_UNSUPPORTED || cy === C_UNSUPPORTED;
  if (!nan && x.sign === 1 && cx !== C_ZERO) { env.flags |= IE; return indefinite(); }
  const sp = screenBinary(env, y, cy, x, cx);
  if (sp) return sp;
  if (cx === C_ZERO) {
    if (cy === C_ZERO) { env.flags |= IE; return indefinite(); }
    // Zero-divide takes precedence over a denormal y (as for FDIV).
    if (cy !== C_INF) env.flags = (env.flags & ~DE) | ZE;
    return infinity(y.sign ^ 1);
  }
  const isOne = cx === C_NORMAL && (x.se & 0x7fff) === BIAS && x.sig === J_BIT;
  if (cx === C_INF) {
    if (cy === C_ZERO) { env.flags |= IE; return indefinite(); }
    return infinity(y.sign);
  }
  if (isOne) {
    if (cy === C_INF) { env.flags |= IE; return indefinite(); }
    return zero(y.sign);
  }
  const ux = unpack(x.se, x.sig);
  const m = Number(ux.sig) / 2 ** 63;
  const below = ux.e < 0;
  if (cy === C_INF) return infinity(y.sign ^ (below ? 1 : 0));
  if (cy === C_ZERO) return zero(y.sign ^ (below ? 1 : 0));
  env.flags |= PE;
  if ((ux.e === -1 && m > 1.5) || (ux.e === 0 && m < 1.25)) {
    // x near 1: log2(x) = log1p(x − 1)·log2(e), with x − 1 exact.
    const xm1 = toDouble(fadd(new FpEnv(), x, new F80(0x3fff, J_BIT), true));
    return mulExt(env, y, mulExt(env, fromDouble(Math.log1p(xm1)), LOG2E_80));
  }
  // log2(x) = e + log2(m) + (m_exact − m)/m·log2(e), summed in extended precision.
  const mExact = new F80(BIAS, ux.sig);
  const mLo = toDouble(fadd(new FpEnv(), mExact, fromDouble(m), true)) / m;
  const l = fadd(new FpEnv(), fromDouble(ux.e), fromDouble(Math.log2(m) + mLo * Math.LOG2E), false);
  return mulExt(env, y, l);
}

/** FYL2XP1: y × log2(x + 1) for small |x|. */
export function fyl2xp1(env: FpEnv, y: F80, x: F80): F80 {
  const cy = classify(y.se, y.sig);
  const cx = classify(x.se, x.sig);
  const sp = screenBinary(env, y, cy, x, cx);
  if (sp) return sp;
  if (cx === C_INF) {
    // Outside the SDM's range; the host returns y·∞ for x = +∞.
    if (x.sign === 1 || cy === C_ZERO) { env.flags |= IE; return indefinite(); }
    return infinity(y.sign);
  }
  if (cx === C_ZERO) {
    if (cy === C_INF) { env.flags |= IE; return indefinite(); }
    return zero(y.sign ^ x.sign);
  }
  if (cy === C_INF) return infinity(y.sign ^ x.sign);
  if (cy === C_ZERO) return zero(y.sign ^ x.sign);
  const ux = unpack(x.se, x.sig);
  if (ux.e >= 0) {
    // |x| ≥ 1 is outside the SDM's range (undefined). The host CPU returns x
    // for x ≤ −1 and y·log2(1 + x) for x ≥ 1; do the same.
    if (x.sign === 1) { env.flags |= PE; return x.clone(); }
    const t = new FpEnv();
    const onePlusX = fadd(t, new F80(0x3fff, J_BIT), x, false);
    return fyl2x(env, y, onePlusX);
  }
  let l: F80;
  if (ux.e < -60) {
    // log2(1 + x) ≈ x·log2(e); multiply y first so a tiny x keeps its precision.
    env.flags |= PE;
    return mulExt(env, mulExt(env, y, LOG2E_80), x);
  } else {
    const xd = toDouble(x);
    if (xd <= -1) { env.flags |= IE; return indefinite(); }
    // log1p(x) ≈ log1p(xd) + (x − xd)/(1 + xd), summed in extended precision.
    const xlo = toDouble(fadd(new FpEnv(), x, fromDouble(xd), true));
    const l1 = fadd(new FpEnv(), fromDouble(Math.log1p(xd)), fromDouble(xlo / (1 + xd)), false);
    l = mulExt(env, l1, LOG2E_80);
  }
  env.flags |= PE;
  return mulExt(env, y, l);
}

