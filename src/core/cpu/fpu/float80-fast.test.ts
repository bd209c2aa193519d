/**
 * The fast paths of float80-fast.ts against the BigInt reference code: for
 * many normal operands (random, edge significands, near-cancellation, exact
 * products and quotients, ties), every rounding control and precision, a case
 * the fast path takes must give the same sign, exponent, significand, PE and
 * C1 as the slow path. Each test also checks that the fast path took most of
 * its cases, so a path that always declines cannot pass.
 */
import { describe, expect, test } from 'vitest';
import { F80, FpEnv } from './float80.ts';
import { compareValues, fadd, fdiv, fmul, fsqrt } from './float80-arith.ts';
import { fromFloat32, fromFloat64, fromInteger, toBinary } from './float80-convert.ts';
import {
  FastRegs, OUT, fastAdd, fastCompare, fastDiv, fastFromDouble, fastFromInt32, fastFromSingle, fastMul, fastSqrt,
  fastToDouble, fastToSingle,
} from './float80-fast.ts';

/** xorshift128+ style deterministic generator (32-bit outputs). */
class Rand {
  private s0: number;
  private s1: number;
  constructor(seed: number) { this.s0 = seed | 1; this.s1 = (seed * 0x9e3779b1) | 3; }
  u32(): number {
    let x = this.s0;
    const y = this.s1;
    this.s0 = y;
    x ^= x << 23; x ^= x >>> 17; x ^= y ^ (y >>> 26);
    this.s1 = x;
    return (x + y) >>> 0;
  }
  below(n: number): number { return this.u32() % n; }
}

const RCS = [0, 1, 2, 3];
const PCS: [number, number][] = [[24, 0], [53, 2], [64, 3]];

function envFor(rc: number, pcBits: number): FpEnv {
  const env = new FpEnv();
  env.setFromControlWord(0x3f | (pcBits << 8) | (rc << 10));
  return env;
}

/** A random 64-bit significand with J set, drawn from shapes that reach the rounding edge cases. */
function sig64(r: Rand): bigint {
  const hi = BigInt((r.u32() | 0x80000000) >>> 0);
  const lo = BigInt(r.u32());
  const full = ((BigInt(r.u32() >>> 0) | 0x80000000n) << 32n) | lo;
  switch (r.below(9)) {
    case 0: return 0x8000000000000000n;
    case 1: return 0xffffffffffffffffn;
    case 2: return 0xffffffffffffffffn - BigInt(r.below(4096));
    case 3: return 0x8000000000000000n + BigInt(r.below(4096));
    case 4: { const keep = 1 + r.below(40); return full >> BigInt(64 - keep) << BigInt(64 - keep); } // few significant bits
    case 5: return (hi << 32n) | (lo & ~0x7ffn) | 0x400n; // a 53-bit tie pattern
    case 6: return ((hi & ~0xffn) | 0x80n) << 32n; // a 24-bit tie pattern
    default: return full;
  }
}

function f80(r: Rand, exp: number): F80 {
  return new F80(((r.below(2)) << 15) | exp, sig64(r));
}

function randExp(r: Rand): number {
  switch (r.below(6)) {
    case 0: return 1 + r.below(100); // near the bottom: the fast path must decline where needed
    case 1: return 0x7ffe - r.below(100);
    default: return 16383 - 80 + r.below(160);
  }
}

/** A pair with related exponents (for cancellation and alignment) or independent ones. */
function pair(r: Rand): [F80, F80] {
  const a = f80(r, randExp(r));
  let eb: number;
  switch (r.below(4)) {
    case 0: eb = a.exp; break;
    case 1: eb = Math.min(0x7ffe, Math.max(1, a.exp + r.below(140) - 70)); break;
    case 2: eb = Math.min(0x7ffe, Math.max(1, a.exp + r.below(5) - 2)); break;
    default: eb = randExp(r);
  }
  let b = f80(r, eb);
  if (r.below(5) === 0) b = new F80(b.se, a.sig + BigInt(r.below(5)) - 2n & 0xffffffffffffffffn | 0x8000000000000000n);
  return [a, b];
}

const hi32 = (v: bigint): number => Number(v >> 32n);
const lo32 = (v: bigint): number => Number(v & 0xffffffffn);

/** The fast paths read operands from register-file slots. */
const FR = new FastRegs();
function load(slot: number, v: F80): number {
  FR.se[slot] = v.se;
  FR.hi[slot] = hi32(v.sig);
  FR.lo[slot] = lo32(v.sig);
  return slot;
}
const slotText = (slot: number): string => `${FR.se[slot]!.toString(16)}:${FR.hi[slot]!.toString(16)}:${FR.lo[slot]!.toString(16)}`;

interface Outcome { se: number; sig: bigint; flags: number; up: boolean }
const show = (o: Outcome): string => `${o.se.toString(16)}:${o.sig.toString(16)} f=${o.flags} c1=${o.up}`;

function fastOutcome(env: FpEnv): Outcome {
  return { se: OUT[0]!, sig: (BigInt(OUT[1]!) << 32n) | BigInt(OUT[2]!), flags: env.flags, up: env.roundedUp };
}

/** Runs `slow` and `fast` under every RC/PC; returns how many cases the fast path took. */
function checkBinary(r: Rand, n: number, gen: (r: Rand) => [F80, F80],
  slow: (env: FpEnv, a: F80, b: F80) => F80,
  fast: (env: FpEnv, a: F80, b: F80) => boolean): { taken: number; total: number } {
  let taken = 0;
  let total = 0;
  for (let k = 0; k < n; k++) {
    const [a, b] = gen(r);
    for (const rc of RCS) for (const [, pcBits] of PCS) {
      total++;
      const se = envFor(rc, pcBits);
      const ref = slow(se, a, b);
      const expect1: Outcome = { se: ref.se, sig: ref.sig, flags: se.flags, up: se.roundedUp };
      const fe = envFor(rc, pcBits);
      if (!fast(fe, a, b)) {
        expect(fe.flags).toBe(0); // declining leaves the environment alone
        continue;
      }
      taken++;
      const got = fastOutcome(fe);
      if (show(got) !== show(expect1)) {
        throw new Error(`a=${a.se.toString(16)}:${a.sig.toString(16)} b=${b.se.toString(16)}:${b.sig.toString(16)} rc=${rc} pc=${pcBits}: fast ${show(got)} slow ${show(expect1)}`);
      }
    }
  }
  return { taken, total };
}

const N = 4000;

describe('fast 80-bit arithmetic matches the BigInt reference', () => {
  test('add and subtract', () => {
    const r = new Rand(1);
    const res = checkBinary(r, N, pair, (env, a, b) => fadd(env, a, b, false),
      (env, a, b) => fastAdd(env, FR, load(0, a), load(1, b), 0));
    const res2 = checkBinary(r, N, pair, (env, a, b) => fadd(env, a, b, true),
      (env, a, b) => fastAdd(env, FR, load(0, a), load(1, b), 1));
    expect(res.taken + res2.taken).toBeGreaterThan(0.6 * (res.total + res2.total));
  });

  test('multiply', () => {
    const r = new Rand(2);
    const res = checkBinary(r, N, pair, (env, a, b) => fmul(env, a, b),
      (env, a, b) => fastMul(env, FR, load(0, a), load(1, b)));
    expect(res.taken).toBeGreaterThan(0.6 * res.total);
  });

  test('multiply: exact products and ties of short significands', () => {
    const r = new Rand(3);
    // Significands of k + m significant bits multiply to exactly k + m (or + 1) bits:
    // around 25, 54 and 65 bits the product is a tie or just off one.
    const short = (rr: Rand): [F80, F80] => {
      const k = 1 + rr.below(33);
      const m = [25, 54, 65, 24, 53, 64][rr.below(6)]! - k;
      const mk = (bits: number): bigint => {
        const b = Math.max(1, Math.min(64, bits));
        let v = 1n;
        for (let i = 1; i < b; i++) v = (v << 1n) | BigInt(rr.below(2));
        if (b > 1) v |= 1n; // lowest bit set: the product's last bit is set
        return v << BigInt(64 - b);
      };
      return [new F80(16383 + rr.below(5), mk(k)), new F80((rr.below(2) << 15) | (16383 - rr.below(5)), mk(m))];
    };
    const res = checkBinary(r, N, short, (env, a, b) => fmul(env, a, b),
      (env, a, b) => fastMul(env, FR, load(0, a), load(1, b)));
    expect(res.taken).toBe(res.total);
  });

  test('divide', () => {
    const r = new Rand(4);
    const res = checkBinary(r, N, pair, (env, a, b) => fdiv(env, a, b),
      (env, a, b) => fastDiv(env, FR, load(0, a), load(1, b)));
    expect(res.taken).toBeGreaterThan(0.6 * res.total);
  });

  test('divide: exact quotients and ties', () => {
    const r = new Rand(5);
    // a = b × c exactly with b short, so a / b = c: exact, or a tie when c has one bit more than the precision.
    const gen = (rr: Rand): [F80, F80] => {
      const bBits = 1 + rr.below(10);
      const cBits = [24, 25, 53, 54, 20, 40][rr.below(6)]!;
      let b = 1n; for (let i = 1; i < bBits; i++) b = (b << 1n) | BigInt(rr.below(2));
      let c = 1n; for (let i = 1; i < cBits; i++) c = (c << 1n) | BigInt(rr.below(2));
      c |= 1n;
      const prod = b * c;
      const norm = (v: bigint): bigint => { let x = v; while (x < 0x8000000000000000n) x <<= 1n; return x; };
      return [new F80((rr.below(2) << 15) | (16383 + rr.below(9) - 4), norm(prod)), new F80(16383 + rr.below(9) - 4, norm(b))];
    };
    const res = checkBinary(r, N, gen, (env, a, b) => fdiv(env, a, b),
      (env, a, b) => fastDiv(env, FR, load(0, a), load(1, b)));
    expect(res.taken).toBe(res.total);
  });

  test('compare', () => {
    const r = new Rand(6);
    let taken = 0;
    for (let k = 0; k < 4 * N; k++) {
      let [a, b] = pair(r);
      if (r.below(8) === 0) a = new F80(a.se & 0x8000, 0n);
      if (r.below(8) === 0) b = new F80(b.se & 0x8000, 0n);
      if (r.below(8) === 0) b = a.clone();
      const f = fastCompare(FR, load(0, a), load(1, b));
      if (f === 2) continue;
      taken++;
      expect(f).toBe(compareValues(a, b));
    }
    expect(taken).toBe(4 * N);
  });
});

describe('fast memory-format conversions match the reference', () => {
  test('double and single stores', () => {
    const r = new Rand(7);
    let taken = 0;
    let total = 0;
    for (let k = 0; k < 4 * N; k++) {
      const bias = r.below(2) === 0 ? 1023 : 127;
      const e = r.below(3) === 0 ? bias - 3 + r.below(6) : r.below(3) === 0 ? -bias - 2 + r.below(6) : r.below(2 * bias) - bias;
      const a = new F80((r.below(2) << 15) | (16383 + e), sig64(r));
      for (const rc of RCS) {
        total++;
        const double = bias === 1023;
        const se = envFor(rc, 3);
        const bits = toBinary(se, a, double ? 53 : 24, double ? 11 : 8);
        const fe = envFor(rc, 3);
        const ok = double ? fastToDouble(fe, FR, load(0, a)) : fastToSingle(fe, FR, load(0, a));
        if (!ok) { expect(fe.flags).toBe(0); continue; }
        taken++;
        const got = double ? (BigInt(OUT[1]!) << 32n) | BigInt(OUT[2]!) : BigInt(OUT[2]!);
        expect(`${got.toString(16)} ${fe.flags} ${fe.roundedUp}`).toBe(`${bits.toString(16)} ${se.flags} ${se.roundedUp}`);
      }
    }
    expect(taken).toBeGreaterThan(0.5 * total);
  });

  test('double, single and int32 loads', () => {
    const r = new Rand(8);
    const env = new FpEnv();
    for (let k = 0; k < 4 * N; k++) {
      const hi = r.below(4) === 0 ? (r.u32() & 0x800fffff) : r.u32();
      const lo = r.below(8) === 0 ? 0 : r.u32();
      // A declined conversion must leave its slot alone (FLD writes straight into the register).
      load(2, new F80(0x1234, 0x1111222233334444n));
      if (fastFromDouble(FR, 2, hi, lo)) {
        expect(slotText(2)).toBe(slotText(load(3, fromFloat64(env, (BigInt(hi) << 32n) | BigInt(lo), true))));
      } else expect(slotText(2)).toBe('1234:11112222:33334444');
      if (fastFromSingle(FR, 2, hi)) expect(slotText(2)).toBe(slotText(load(3, fromFloat32(env, hi, true))));
      const v = r.below(8) === 0 ? [0, -1, 1, -0x80000000, 0x7fffffff][r.below(5)]! : hi | 0;
      fastFromInt32(FR, 2, v);
      expect(slotText(2)).toBe(slotText(load(3, fromInteger(BigInt(v)))));
    }
    expect(env.flags).toBe(0); // only accepted encodings were converted: no IE/DE
  });
});

describe('fast square root matches the reference', () => {
  const check = (gen: (r: Rand) => F80, seed: number, n: number): void => {
    const r = new Rand(seed);
    for (let k = 0; k < n; k++) {
      const a = gen(r);
      for (const rc of RCS) for (const [, pcBits] of PCS) {
        const se = envFor(rc, pcBits);
        const ref = fsqrt(se, a);
        const fe = envFor(rc, pcBits);
        expect(fastSqrt(fe, FR, load(0, a))).toBe(true);
        const got = fastOutcome(fe);
        const want: Outcome = { se: ref.se, sig: ref.sig, flags: se.flags, up: se.roundedUp };
        if (show(got) !== show(want)) throw new Error(`sqrt ${a.se.toString(16)}:${a.sig.toString(16)} rc=${rc} pc=${pcBits}: fast ${show(got)} slow ${show(want)}`);
      }
    }
  };

  test('random operands, edge significands, both exponent parities', () => {
    check((r) => new F80(randExp(r), sig64(r)), 9, N);
  });

  test('perfect squares (exact roots, and ties at 24 bits) and their neighbours', () => {
    check((r) => {
      const bits = [25, 24, 32, 20, 12][r.below(5)]!;
      let c = 1n;
      for (let i = 1; i < bits; i++) c = (c << 1n) | BigInt(r.below(2));
      c |= 1n;
      let sq = c * c;
      const n = sq.toString(2).length;
      sq <<= BigInt(64 - n);
      sq += BigInt(r.below(3)) - 1n; // the square, or one unit either side
      if (sq < 0x8000000000000000n) sq = 0x8000000000000000n;
      if (sq > 0xffffffffffffffffn) sq = 0xffffffffffffffffn;
      // value = c² · 2^(e + 1 − n): the root is exact when e + 1 − n is even.
      return new F80(16383 + 2 * (r.below(40) - 20) + ((n & 1) === 0 ? 1 : 0), sq);
    }, 10, N);
  });
});
