/**
 * Conversions between the 80-bit register format and memory formats:
 * signed integers (16/32/64), single/double reals and 18-digit packed BCD.
 */
import {
  C_INF, C_QNAN, C_SNAN, C_UNSUPPORTED, C_ZERO, DE, F80, FpEnv, IE, J_BIT, MASK64,
  QUIET_BIT, Rounded, classify, infinity, roundPack, unpack, zero, BIAS, bitLength,
} from './float80.ts';
import { fromBigInt, roundIntegral } from './float80-arith.ts';

/** Exact conversion of a signed integer (|v| ≤ 2^63). */
export function fromInteger(v: bigint): F80 {
  return v < 0n ? fromBigInt(1, -v) : fromBigInt(0, v);
}

/**
 * FIST/FISTP/FBSTP helper: rounds to an integer per RC. Returns null (the
 * caller stores the integer indefinite) when the value is a NaN, infinity,
 * unsupported, or does not fit in [min, max]; IE is raised then.
 */
export function toInteger(env: FpEnv, a: F80, min: bigint, max: bigint): bigint | null {
  const c = classify(a.se, a.sig);
  if (c === C_QNAN || c === C_SNAN || c === C_INF || c === C_UNSUPPORTED) { env.flags |= IE; return null; }
  if (c === C_ZERO) return 0n;
  // (A denormal source does not raise DE on FIST/FISTP/FBSTP.)
  const savedFlags = env.flags;
  const r = roundIntegral(env, a, env.rc);
  const u = unpack(r.se, r.sig);
  let v: bigint | null;
  if (u.sig === 0n) v = 0n;
  else if (u.e > 63) v = null;
  else {
    const mag = u.sig >> BigInt(63 - u.e);
    v = u.sign === 1 ? -mag : mag;
  }
  if (v === null || v < min || v > max) {
    env.flags = savedFlags | IE;
    env.roundedUp = false;
    return null;
  }
  return v;
}

// ---- single / double reals ------------------------------------------------

/** Loads a binary32 (raw bits) exactly; SNaN raises IE and is quieted, denormals raise DE. */
export function fromFloat32(env: FpEnv, bits: number, load: boolean): F80 {
  const sign = bits >>> 31;
  const exp = (bits >>> 23) & 0xff;
  const frac = BigInt(bits & 0x7fffff);
  return fromBinary(env, sign, exp, frac, 23, 0xff, 127, load);
}

/** Loads a binary64 given as a 64-bit BigInt. */
export function fromFloat64(env: FpEnv, bits: bigint, load: boolean): F80 {
  const sign = Number(bits >> 63n);
  const exp = Number((bits >> 52n) & 0x7ffn);
  const frac = bits & ((1n << 52n) - 1n);
  return fromBinary(env, sign, exp, frac, 52, 0x7ff, 1023, load);
}

/**
 * `load` (FLD m32/m64): an SNaN raises IE and is quieted. Otherwise (an
 * arithmetic operand) the SNaN is kept as is for the operation to handle.
 */
function fromBinary(env: FpEnv, sign: number, exp: number, frac: bigint, fracBits: number, expMax: number,
  bias: number, load: boolean): F80 {
  const shift = BigInt(63 - fracBits);
  if (exp === expMax) {
    if (frac === 0n) return infinity(sign);
    let sig = J_BIT | (frac << shift);
    if (load && (sig & QUIET_BIT) === 0n) { env.flags |= IE; sig |= QUIET_BIT; }
    return new F80((sign << 15) | 0x7fff, sig);
  }
  if (exp === 0) {
    if (frac === 0n) return zero(sign);
    if (load) env.flags |= DE;
    else env.memDenormal = true;
    const n = bitLength(frac);
    // value = frac × 2^(1 − bias − fracBits)
    const e = 1 - bias - fracBits + n - 1;
    return new F80((sign << 15) | (e + BIAS), (frac << BigInt(64 - n)) & MASK64);
  }
  return new F80((sign << 15) | (exp - bias + BIAS), J_BIT | (frac << shift));
}

/**
 * Converts to a binary32/64 for FST m32/m64. Returns the raw bits as a
 * BigInt. Unmasked IE/OE/UE mean the caller stores nothing.
 */
export function toBinary(env: FpEnv, a: F80, prec: number, expBits: number): bigint {
  const fracBits = prec - 1;
  const bias = (1 << (expBits - 1)) - 1;
  const expMax = (1 << expBits) - 1;
  const signBit = BigInt(a.sign) << BigInt(fracBits + expBits);
  const c = classify(a.se, a.sig);
  const infBits = signBit | (BigInt(expMax) << BigInt(fracBits));
  env.roundedUp = false;
  switch (c) {
    case C_ZERO: return signBit;
    case C_INF: return infBits;
    case C_UNSUPPORTED:
      env.flags |= IE;
      return (1n << BigInt(fracBits + expBits)) | (BigInt(expMax) << BigInt(fracBits)) | (1n << BigInt(fracBits - 1));
    case C_SNAN:
    case C_QNAN: {
      if (c === C_SNAN) env.flags |= IE;
      const frac = ((a.sig | QUIET_BIT) & ~J_BIT) >> BigInt(63 - fracBits);
      return infBits | frac;
    }
  }
  // No DE here: the hardware does not report a denormal source on FST m32/m64.
  const u = unpack(a.se, a.sig);
  const r = new Rounded();
  roundPack(env, r, u.sign, u.e, u.sig << 64n, prec, 1 - bias, bias, 0);
  if (r.inf) return infBits;
  const frac = (r.sig >> BigInt(63 - fracBits)) & ((1n << BigInt(fracBits)) - 1n);
  if (r.sig === 0n) return signBit;
  const exp = (r.sig & J_BIT) !== 0n ? BigInt(r.e + bias) : 0n;
  return signBit | (exp << BigInt(fracBits)) | frac;
}

// ---- packed BCD -------------------------------------------------------------

/** FBLD: 10 bytes, 18 digits; digits above 9 are taken at face value (undefined on hardware). */
export function fromBCD(bytes: Uint8Array): F80 {
  let v = 0n;
  for (let i = 8; i >= 0; i--) {
    const b = bytes[i]!;
    v = v * 100n + BigInt((b >>> 4) * 10 + (b & 15));
  }
  const sign = (bytes[9]! >>> 7) & 1;
  return fromBigInt(sign, v);
}

/** FBSTP: returns the 10 bytes (the packed BCD indefinite on IE). */
export function toBCD(env: FpEnv, a: F80): Uint8Array {
  const out = new Uint8Array(10);
  const max = 999999999999999999n;
  const v = toInteger(env, a, -max, max);
  if (v === null) {
    out[9] = 0xff; out[8] = 0xff; out[7] = 0xc0;
    return out;
  }
  let m = v < 0n ? -v : v;
  for (let i = 0; i < 9; i++) {
    const lo = Number(m % 10n); m /= 10n;
    const hi = Number(m % 10n); m /= 10n;
    out[i] = (hi << 4) | lo;
  }
  out[9] = a.sign << 7;
  return out;
}

