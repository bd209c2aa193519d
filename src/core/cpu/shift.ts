/**
 * Group-2 shifts and rotates (ROL ROR RCL RCR SHL SHR SAL SAR, reg field
 * order) and SHLD/SHRD. The count is masked to 5 bits (SDM SAL/SAR/SHL/SHR:
 * "The count is masked to 5 bits"); RCL/RCR of 8/16-bit operands rotate
 * modulo 9/17. A masked count of 0 changes neither operand nor flags.
 * OF is only architecturally defined for 1-bit shifts; we compute it with the
 * 1-bit formula for every count, which matches P6-family behaviour for the
 * common cases. AF is left 0 (undefined).
 */
import type { CpuCore } from './state.ts';
import { SZ_MASK, getCF, setResultFlags, setSomeFlags } from './flags.ts';
import { F_CF, F_OF } from './constants.ts';

const BITS: readonly number[] = [8, 16, 32];

export function shiftOp(c: CpuCore, kind: number, a: number, count: number, sz: number): number {
  const m = SZ_MASK[sz];
  const bits = BITS[sz];
  const n = count & 31;
  a &= m;
  if (n === 0) return a;
  const msb = bits - 1;
  switch (kind) {
    case 0: { // ROL
      const k = n % bits;
      const r = k === 0 ? a : ((a << k) | (a >>> (bits - k))) & m;
      const cf = r & 1;
      const of = ((r >>> msb) & 1) ^ cf;
      setSomeFlags(c, F_CF | F_OF, cf | (of << 11));
      return r;
    }
    case 1: { // ROR
      const k = n % bits;
      const r = k === 0 ? a : ((a >>> k) | (a << (bits - k))) & m;
      const cf = (r >>> msb) & 1;
      const of = cf ^ ((r >>> (msb - 1)) & 1);
      setSomeFlags(c, F_CF | F_OF, cf | (of << 11));
      return r;
    }
    case 2: { // RCL
      const k = sz === 2 ? n : n % (bits + 1);
      if (k === 0) return a;
      let cf = getCF(c);
      let r = a;
      for (let i = 0; i < k; i++) {
        const out = (r >>> msb) & 1;
        r = ((r << 1) | cf) & m;
        cf = out;
      }
      const of = ((r >>> msb) & 1) ^ cf;
      setSomeFlags(c, F_CF | F_OF, cf | (of << 11));
      return r;
    }
    case 3: { // RCR
      const k = sz === 2 ? n : n % (bits + 1);
      if (k === 0) return a;
      let cf = getCF(c);
      let r = a;
      for (let i = 0; i < k; i++) {
        const out = r & 1;
        r = ((r >>> 1) | (cf << msb)) & m;
        cf = out;
      }
      const of = ((r >>> msb) ^ (r >>> (msb - 1))) & 1;
      setSomeFlags(c, F_CF | F_OF, cf | (of << 11));
      return r;
    }
    case 4: case 6: { // SHL / SAL
      const r = n < 32 ? (a << n) & m : 0;
      const cf = n <= bits ? (a >>> (bits - n)) & 1 : 0;
      const of = ((r >>> msb) & 1) ^ cf;
      setResultFlags(c, r, sz, cf, of);
      return r;
    }
    case 5: { // SHR
      const r = (a >>> n) & m;
      const cf = (a >>> (n - 1)) & 1;
      const of = (a >>> msb) & 1;
      setResultFlags(c, sz === 2 ? r | 0 : r, sz, n - 1 < bits ? cf : 0, of);
      return r;
    }
    default: { // SAR
      const sa = (a << (32 - bits)) >> (32 - bits);
      const r = (sa >> (n > msb ? msb : n)) & m;
      const cf = (sa >> (n - 1 > 31 ? 31 : n - 1)) & 1;
      setResultFlags(c, r, sz, cf, 0);
      return r;
    }
  }
}

/** SHLD dst, src, count (sz 1 = 16-bit, 2 = 32-bit). */
export function shld(c: CpuCore, dst: number, src: number, count: number, sz: number): number {
  const n = count & 31;
  const m = SZ_MASK[sz];
  dst &= m;
  src &= m;
  if (n === 0) return dst;
  let r: number;
  let cf: number;
  if (sz === 2) {
    r = (dst << n) | (src >>> (32 - n));
    cf = (dst >>> (32 - n)) & 1;
  } else {
    // 16-bit: operate on dst:src:dst as a 48-bit pattern (count > 16 is undefined).
    const wide = dst * 0x100000000 + src * 0x10000 + dst;
    const shifted = Math.floor(wide / Math.pow(2, 48 - 16 - n)) % 0x10000;
    r = shifted & 0xffff;
    cf = Math.floor(wide / Math.pow(2, 48 - n)) & 1;
  }
  const msb = sz === 2 ? 31 : 15;
  const of = (((r ^ dst) >>> msb) & 1);
  setResultFlags(c, r & m, sz, cf, of);
  return r & m;
}

/** SHRD dst, src, count. */
export function shrd(c: CpuCore, dst: number, src: number, count: number, sz: number): number {
  const n = count & 31;
  const m = SZ_MASK[sz];
  dst &= m;
  src &= m;
  if (n === 0) return dst;
  let r: number;
  let cf: number;
  if (sz === 2) {
    r = (dst >>> n) | (src << (32 - n));
    cf = (dst >>> (n - 1)) & 1;
  } else {
    // 16-bit: src:dst:src pattern, shifting right.
    const wide = src * 0x100000000 + dst * 0x10000 + src;
    const shifted = Math.floor(wide / Math.pow(2, 16 + n)) % 0x10000;
    r = shifted & 0xffff;
    cf = Math.floor(wide / Math.pow(2, 16 + n - 1)) & 1;
  }
  const msb = sz === 2 ? 31 : 15;
  const of = (((r ^ dst) >>> msb) & 1);
  setResultFlags(c, r & m, sz, cf, of);
  return r & m;
}
