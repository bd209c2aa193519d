/**
 * Case generation and the emulator side of the x87 differential test. A case
 * is one instruction run from a clean state: FNINIT, FLDCW, N values pushed,
 * EFLAGS set, a 32-byte memory operand; the observable result is the FNSAVE
 * image right after, the memory operand and EFLAGS (see x87-native.c).
 */
import { X87 } from '../x87.ts';
import { MockFpuHost } from './mock-host.ts';

// ---- deterministic random numbers -----------------------------------------------

export class Rng {
  private s: number;
  constructor(seed: number) { this.s = seed >>> 0 || 1; }
  u32(): number {
    // xorshift32
    let x = this.s;
    x ^= x << 13; x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5; x >>>= 0;
    this.s = x;
    return x;
  }
  int(n: number): number { return this.u32() % n; }
  chance(p: number): boolean { return this.u32() / 4294967296 < p; }
  u64(): bigint { return (BigInt(this.u32()) << 32n) | BigInt(this.u32()); }
  pick<T>(xs: readonly T[]): T { return xs[this.int(xs.length)]!; }
}

export interface Val { se: number; sig: bigint }

export function hex80(v: Val): string {
  return v.se.toString(16).padStart(4, '0') + v.sig.toString(16).padStart(16, '0');
}

const J = 1n << 63n;
const M64 = (1n << 64n) - 1n;

export function genF80(r: Rng): Val {
  const sign = r.int(2) << 15;
  const k = r.int(100);
  if (k < 10) {
    const specials: Val[] = [
      { se: 0, sig: 0n }, { se: 0x7fff, sig: J }, { se: 0x7fff, sig: 0xc000000000000000n },
      { se: 0x7fff, sig: J | (r.u64() & ((1n << 62n) - 1n)) | 1n }, { se: 0x7fff, sig: 0xc000000000000000n | (r.u64() >> 2n) },
      { se: 0x7ffe, sig: M64 }, { se: 0x0001, sig: J }, { se: 0, sig: 1n }, { se: 0, sig: J - 1n },
      { se: 0x3fff, sig: J }, { se: 0x4000, sig: J }, { se: 0x3ffe, sig: J }, { se: 0x3fff, sig: 0xc000000000000000n },
    ];
    const v = r.pick(specials);
    return { se: v.se | sign, sig: v.sig };
  }
  if (k < 15) return { se: sign, sig: r.u64() >> BigInt(r.int(64)) }; // denormal
  if (k < 16) return { se: sign | (1 + r.int(0x7ffe)), sig: r.u64() >> 1n }; // unnormal (unsupported)
  if (k < 26) { // integers
    const mag = r.chance(0.5) ? BigInt(r.int(2000)) : r.u64() >> BigInt(r.int(64));
    if (mag === 0n) return { se: sign, sig: 0n };
    const n = mag.toString(2).length;
    return { se: sign | (0x3fff + n - 1), sig: (mag << BigInt(64 - n)) & M64 };
  }
  if (k < 40) { // near a rounding boundary for 24/53/64 bits
    const p = r.pick([24, 53, 64, 23, 52]);
    let sig = J | (r.u64() & ~((1n << BigInt(64 - p)) - 1n));
    const low = 64 - p;
    if (low > 0) {
      const pat = r.int(5);
      const half = 1n << BigInt(low - 1);
      if (pat === 0) sig |= half;
      else if (pat === 1) sig |= half - 1n;
      else if (pat === 2) sig |= half + 1n;
      else if (pat === 3) sig |= (1n << BigInt(low)) - 1n;
      else sig |= r.u64() & ((1n << BigInt(low)) - 1n);
    } else if (r.chance(0.5)) sig = M64;
    return { se: sign | (0x3fff + r.int(130) - 65), sig };
  }
  if (k < 50) { // extreme exponents
    const e = r.chance(0.5) ? 1 + r.int(80) : 0x7ffe - r.int(80);
    return { se: sign | e, sig: J | r.u64() };
  }
  if (k < 55) return { se: sign | (1 + r.int(0x7ffe)), sig: J | r.u64() };
  return { se: sign | (0x3fff + r.int(128) - 64), sig: J | r.u64() };
}

/** A second operand, often related to the first (equal, negated, close). */
export function genRelated(r: Rng, a: Val): Val {
  const k = r.int(10);
  if (k === 0) return { ...a };
  if (k === 1) return { se: a.se ^ 0x8000, sig: a.sig };
  if (k <= 4 && (a.se & 0x7fff) !== 0 && (a.se & 0x7fff) !== 0x7fff) {
    const e = Math.min(0x7ffe, Math.max(1, (a.se & 0x7fff) + r.int(140) - 70));
    const sig = r.chance(0.5) ? (a.sig ^ (r.u64() >> BigInt(r.int(64)))) | J : J | r.u64();
    return { se: (r.int(2) << 15) | e, sig };
  }
  return genF80(r);
}

function f32bits(r: Rng): number {
  const k = r.int(10);
  const s = r.int(2) << 31;
  if (k === 0) return (s | r.pick([0, 0x7f800000, 0x7fc00000, 0x7f800001 + r.int(0x3fffff), 0x7fc00000 | r.int(0x3fffff)])) >>> 0;
  if (k === 1) return (s | (r.u32() & 0x7fffff)) >>> 0;
  if (k === 2) return (s | 0x7f7fffff) >>> 0;
  return (s | ((0x3f800000 + (r.int(128) - 64) * 0x800000) & 0x7f800000) | (r.u32() & 0x7fffff)) >>> 0;
}

function f64bits(r: Rng): bigint {
  const k = r.int(10);
  const s = BigInt(r.int(2)) << 63n;
  const fr = r.u64() & ((1n << 52n) - 1n);
  if (k === 0) return s | r.pick([0n, 0x7ff0000000000000n, 0x7ff8000000000000n, 0x7ff0000000000001n | (fr >> 1n), 0x7ff8000000000000n | fr]);
  if (k === 1) return s | fr;
  if (k === 2) return s | 0x7fefffffffffffffn;
  return s | (BigInt(1023 + r.int(200) - 100) << 52n) | fr;
}

function intBits(r: Rng, bits: number): bigint {
  const max = 1n << BigInt(bits);
  const k = r.int(6);
  if (k === 0) return r.pick([0n, max - 1n, max >> 1n, (max >> 1n) - 1n, 1n]);
  if (k === 1) return BigInt(r.int(2000)) & (max - 1n);
  return (r.u64() >> BigInt(r.int(bits))) & (max - 1n) ^ (r.chance(0.5) ? max - 1n : 0n);
}

function bcdBytes(r: Rng): number[] {
  const out: number[] = [];
  const digits = r.int(19);
  for (let i = 0; i < 9; i++) {
    const lo = 2 * i < digits ? r.int(10) : 0;
    const hi = 2 * i + 1 < digits ? r.int(10) : 0;
    out.push((hi << 4) | lo);
  }
  out.push(r.int(2) << 7);
  return out;
}

function leBytes(v: bigint, n: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push(Number((v >> BigInt(8 * i)) & 0xffn));
  return out;
}

// ---- operations -------------------------------------------------------------------

export type MemKind = 'none' | 'f32' | 'f64' | 'f80' | 'i16' | 'i32' | 'i64' | 'bcd' | 'out';
export type Domain = 'any' | 'int' | 'scale' | 'rem' | 'bcd' | 'f2xm1' | 'ylog' | 'ylogp1' | 'trig' | 'atan';

export interface OpSpec {
  name: string;
  opc: number;
  modrm: number;
  /** Stack values the instruction needs. */
  nst: number;
  mem: MemKind;
  /** Does precision control matter (vary it)? */
  pc: boolean;
  /** Pushes (stack-overflow cases). */
  pushes?: boolean;
  domain?: Domain;
  /** Transcendental: compared at double precision against a Math.* reference. */
  ref?: (x: number, y: number) => number[];
  /** Compare EFLAGS (FCOMI family). */
  eflags?: boolean;
}

const ARITH_NAMES = ['add', 'mul', 'com', 'comp', 'sub', 'subr', 'div', 'divr'];

function memForms(opc: number, kind: MemKind, prefix: string): OpSpec[] {
  return ARITH_NAMES.map((n, reg) => ({ name: `F${prefix}${n.toUpperCase()} ${kind}`, opc, modrm: (reg << 3) | 5, nst: 1, mem: kind, pc: reg !== 2 && reg !== 3 }));
}

export function opSpecs(): OpSpec[] {
  const ops: OpSpec[] = [];
  const regNames = ['FADD', 'FMUL', 'FCOM', 'FCOMP', 'FSUB', 'FSUBR', 'FDIV', 'FDIVR'];
  for (let reg = 0; reg < 8; reg++) {
    ops.push({ name: `${regNames[reg]} st0,st1`, opc: 0xd8, modrm: 0xc1 | (reg << 3), nst: 2, mem: 'none', pc: reg !== 2 && reg !== 3 });
    ops.push({ name: `DC /${reg} st1,st0`, opc: 0xdc, modrm: 0xc1 | (reg << 3), nst: 2, mem: 'none', pc: reg !== 2 && reg !== 3 });
    if (reg !== 3) ops.push({ name: `DE /${reg} st1,st0 (pop)`, opc: 0xde, modrm: 0xc1 | (reg << 3), nst: 2, mem: 'none', pc: reg !== 2 });
  }
  ops.push({ name: 'FCOMPP', opc: 0xde, modrm: 0xd9, nst: 2, mem: 'none', pc: false });
  ops.push(...memForms(0xd8, 'f32', ''), ...memForms(0xdc, 'f64', ''), ...memForms(0xda, 'i32', 'I'), ...memForms(0xde, 'i16', 'I'));
  const simple = (name: string, opc: number, modrm: number, nst: number, extra: Partial<OpSpec> = {}): void => {
    ops.push({ name, opc, modrm, nst, mem: 'none', pc: false, ...extra });
  };
  simple('FLD st1', 0xd9, 0xc1, 2, { pushes: true });
  simple('FXCH st1', 0xd9, 0xc9, 2);
  simple('FNOP', 0xd9, 0xd0, 1);
  simple('FSTP1 st1', 0xd9, 0xd9, 2);
  simple('FCHS', 0xd9, 0xe0, 1);
  simple('FABS', 0xd9, 0xe1, 1);
  simple('FTST', 0xd9, 0xe4, 1);
  simple('FXAM', 0xd9, 0xe5, 1);
  for (let k = 0; k < 7; k++) simple(`FLDconst ${k}`, 0xd9, 0xe8 + k, 0, { pushes: true });
  simple('FXTRACT', 0xd9, 0xf4, 1, { pushes: true });
  simple('FPREM1', 0xd9, 0xf5, 2, { domain: 'rem' });
  simple('FDECSTP', 0xd9, 0xf6, 2);
  simple('FINCSTP', 0xd9, 0xf7, 2);
  simple('FPREM', 0xd9, 0xf8, 2, { domain: 'rem' });
  simple('FSQRT', 0xd9, 0xfa, 1, { pc: true });
  simple('FRNDINT', 0xd9, 0xfc, 1, { domain: 'int' });
  simple('FSCALE', 0xd9, 0xfd, 2, { domain: 'scale' });
  for (let c = 0; c < 4; c++) {
    const cc = ['B', 'E', 'BE', 'U'][c]!;
    simple(`FCMOV${cc}`, 0xda, 0xc1 | (c << 3), 2);
    simple(`FCMOVN${cc}`, 0xdb, 0xc1 | (c << 3), 2);
  }
  simple('FUCOMPP', 0xda, 0xe9, 2);
  simple('FUCOMI', 0xdb, 0xe9, 2, { eflags: true });
  simple('FCOMI', 0xdb, 0xf1, 2, { eflags: true });
  simple('FUCOMIP', 0xdf, 0xe9, 2, { eflags: true });
  simple('FCOMIP', 0xdf, 0xf1, 2, { eflags: true });
  simple('FFREE st1', 0xdd, 0xc1, 2);
  simple('FXCH4 st1', 0xdd, 0xc9, 2);
  simple('FST st1', 0xdd, 0xd1, 2);
  simple('FSTP st1', 0xdd, 0xd9, 2);
  simple('FUCOM st1', 0xdd, 0xe1, 2);
  simple('FUCOMP st1', 0xdd, 0xe9, 2);
  simple('FCOM2 st1', 0xdc, 0xd1, 2);
  simple('FCOMP5 st1', 0xde, 0xd1, 2);
  simple('FFREEP st1', 0xdf, 0xc1, 2);
  simple('FSTP8 st1', 0xdf, 0xd1, 2);
  const mem = (name: string, opc: number, reg: number, nst: number, kind: MemKind, extra: Partial<OpSpec> = {}): void => {
    ops.push({ name, opc, modrm: (reg << 3) | 5, nst, mem: kind, pc: false, ...extra });
  };
  mem('FLD m32', 0xd9, 0, 0, 'f32', { pushes: true });
  mem('FST m32', 0xd9, 2, 1, 'out');
  mem('FSTP m32', 0xd9, 3, 1, 'out');
  mem('FILD m32', 0xdb, 0, 0, 'i32', { pushes: true });
  mem('FIST m32', 0xdb, 2, 1, 'out', { domain: 'int' });
  mem('FISTP m32', 0xdb, 3, 1, 'out', { domain: 'int' });
  mem('FLD m80', 0xdb, 5, 0, 'f80', { pushes: true });
  mem('FSTP m80', 0xdb, 7, 1, 'out');
  mem('FLD m64', 0xdd, 0, 0, 'f64', { pushes: true });
  mem('FST m64', 0xdd, 2, 1, 'out');
  mem('FSTP m64', 0xdd, 3, 1, 'out');
  mem('FILD m16', 0xdf, 0, 0, 'i16', { pushes: true });
  mem('FIST m16', 0xdf, 2, 1, 'out', { domain: 'int' });
  mem('FISTP m16', 0xdf, 3, 1, 'out', { domain: 'int' });
  mem('FBLD', 0xdf, 4, 0, 'bcd', { pushes: true });
  mem('FILD m64', 0xdf, 5, 0, 'i64', { pushes: true });
  mem('FBSTP', 0xdf, 6, 1, 'out', { domain: 'bcd' });
  mem('FISTP m64', 0xdf, 7, 1, 'out', { domain: 'int' });
  // Transcendentals: inputs are doubles; references are Math.*.
  simple('F2XM1', 0xd9, 0xf0, 1, { domain: 'f2xm1', ref: (x) => [Math.expm1(x * Math.LN2)] });
  simple('FYL2X', 0xd9, 0xf1, 2, { domain: 'ylog', ref: (x, y) => [y * Math.log2(x)] });
  simple('FPTAN', 0xd9, 0xf2, 1, { domain: 'trig', pushes: true, ref: (x) => [1, Math.tan(x)] });
  simple('FPATAN', 0xd9, 0xf3, 2, { domain: 'atan', ref: (x, y) => [Math.atan2(y, x)] });
  simple('FYL2XP1', 0xd9, 0xf9, 2, { domain: 'ylogp1', ref: (x, y) => [y * Math.log1p(x) / Math.LN2] });
  simple('FSINCOS', 0xd9, 0xfb, 1, { domain: 'trig', pushes: true, ref: (x) => [Math.cos(x), Math.sin(x)] });
  simple('FSIN', 0xd9, 0xfe, 1, { domain: 'trig', ref: (x) => [Math.sin(x)] });
  simple('FCOS', 0xd9, 0xff, 1, { domain: 'trig', ref: (x) => [Math.cos(x)] });
  return ops;
}

function fromDoubleVal(d: number): Val {
  const f = new Float64Array([d]);
  const b = new BigUint64Array(f.buffer)[0]!;
  const sign = Number(b >> 63n) << 15;
  const exp = Number((b >> 52n) & 0x7ffn);
  const frac = b & ((1n << 52n) - 1n);
  if (exp === 0) return { se: sign, sig: 0n }; // (no double denormals generated)
  return { se: sign | (exp - 1023 + 16383), sig: J | (frac << 11n) };
}

function domainValues(r: Rng, d: Domain, nst: number): Val[] | null {
  const special = r.chance(0.08);
  if (special) return null;
  switch (d) {
    case 'int': {
      const e = r.pick([15, 16, 31, 32, 63, 64, 0, 1, 5, 10, 20, 40, 62, -1, -2]);
      const sig = r.chance(0.3) ? J : r.chance(0.5) ? J | (r.u64() >> BigInt(r.int(64))) : M64;
      return [{ se: (r.int(2) << 15) | (0x3fff + e + (r.chance(0.3) ? r.int(3) - 1 : 0)), sig }];
    }
    case 'bcd': {
      const e = r.pick([59, 58, 60, 30, 10, 0, -1]);
      return [{ se: (r.int(2) << 15) | (0x3fff + e), sig: J | r.u64() }];
    }
    case 'scale': {
      const a = genF80(r);
      const n = r.pick([r.int(64) - 32, r.int(40000) - 20000, r.int(70000) - 35000]) + (r.chance(0.3) ? r.int(1000) / 1000 : 0);
      return [a, fromDoubleVal(n === 0 ? 0.5 : n)];
    }
    case 'rem': {
      const b = genF80(r);
      const eb = b.se & 0x7fff;
      const e = Math.min(0x7ffe, Math.max(1, eb + r.pick([r.int(8) - 2, r.int(70), 60 + r.int(10), 63, 64, 65, r.int(200)])));
      return [{ se: (r.int(2) << 15) | e, sig: J | r.u64() }, b];
    }
    case 'f2xm1': return [fromDoubleVal((r.u32() / 2147483648 - 1) * (r.chance(0.2) ? 2 ** -r.int(40) : 1))];
    case 'trig': {
      const mag = r.pick([1, 4, 100, 1e6, 1e15, 2 ** -20, 2 ** 64]);
      return [fromDoubleVal((r.u32() / 2147483648 - 1) * mag)];
    }
    case 'ylog': return [fromDoubleVal((r.u32() + 1) / 4294967296 * r.pick([1, 2, 1e10, 1e-10, 1e300])), fromDoubleVal((r.u32() / 2147483648 - 1) * r.pick([1, 10, 1e-5]))];
    case 'ylogp1': return [fromDoubleVal((r.u32() / 2147483648 - 1) * 0.29 * r.pick([1, 1e-3, 1e-9])), fromDoubleVal((r.u32() / 2147483648 - 1) * r.pick([1, 10, 1e-5]))];
    case 'atan': return [fromDoubleVal((r.u32() / 2147483648 - 1) * r.pick([1, 100, 1e-3])), fromDoubleVal((r.u32() / 2147483648 - 1) * r.pick([1, 100, 1e-3]))];
    default: return nst > 0 ? null : [];
  }
}

export interface Case {
  op: OpSpec;
  cw: number;
  eflags: number;
  stack: Val[];
  mem: number[];
}

export function genCase(r: Rng, op: OpSpec): Case {
  const rc = r.int(4);
  const pc = op.pc ? r.pick([0, 2, 3]) : r.chance(0.8) ? 3 : r.pick([0, 2]);
  const masks = r.chance(0.85) ? 0x3f : r.int(64);
  const cw = 0x0040 | (rc << 10) | (pc << 8) | masks;
  let stack: Val[] = domainValues(r, op.domain ?? 'any', op.nst) ?? [];
  if (stack.length < op.nst) {
    const a = genF80(r);
    stack = [a];
    while (stack.length < op.nst) stack.push(genRelated(r, a));
  }
  const depth = r.int(100);
  if (depth < 4) stack = stack.slice(0, Math.max(0, op.nst - 1 - r.int(2)));
  else if (depth < 8 || (op.pushes === true && depth < 12)) while (stack.length < 8) stack.push(genF80(r));
  const mem: number[] = [];
  for (let i = 0; i < 32; i++) mem.push(r.int(256));
  let head: number[] = [];
  switch (op.mem) {
    case 'f32': head = leBytes(BigInt(f32bits(r)), 4); break;
    case 'f64': head = leBytes(f64bits(r), 8); break;
    case 'f80': { const v = genF80(r); head = leBytes(v.sig, 8).concat(leBytes(BigInt(v.se), 2)); break; }
    case 'i16': head = leBytes(intBits(r, 16), 2); break;
    case 'i32': head = leBytes(intBits(r, 32), 4); break;
    case 'i64': head = leBytes(intBits(r, 64), 8); break;
    case 'bcd': head = bcdBytes(r); break;
    default: break;
  }
  head.forEach((b, i) => { mem[i] = b; });
  return { op, cw, eflags: r.int(2) | (r.int(2) << 2) | (r.int(2) << 6), stack, mem };
}

export function caseLine(c: Case): string {
  const memHex = c.mem.map((b) => b.toString(16).padStart(2, '0')).join('');
  return [c.op.opc.toString(16), c.op.modrm.toString(16), c.cw.toString(16), c.eflags.toString(16), c.stack.length.toString(16),
    ...c.stack.map(hex80), memHex].join(' ');
}

// ---- emulator side -----------------------------------------------------------------

export interface Observed {
  save: Uint8Array;
  mem: Uint8Array;
  eflags: number;
}

const CW_ADDR = 0x100;
const LOAD_ADDR = 0x200;
const MEM_ADDR = 0x1000;
const SAVE_ADDR = 0x2000;

/**
 * Runs the case on our X87. `memRm`: the ModRM r/m field the native oracle
 * executes memory forms with (its FOP holds it): 5 (disp32) as an i386
 * binary, 4 (SIB, disp32) as an x86-64 one.
 */
export function runEmulated(c: Case, memRm: 4 | 5 = 5): Observed {
  const host = new MockFpuHost();
  const x = new X87(host);
  x.reset();
  host.writeU16(0, CW_ADDR, c.cw);
  x.execute(0xd9, 0x2d, 0, CW_ADDR, true, 0x23, 0);
  for (let k = c.stack.length - 1; k >= 0; k--) {
    const v = c.stack[k]!;
    host.writeU32(0, LOAD_ADDR, Number(v.sig & 0xffffffffn));
    host.writeU32(0, LOAD_ADDR + 4, Number(v.sig >> 32n));
    host.writeU16(0, LOAD_ADDR + 8, v.se);
    x.execute(0xdb, 0x2d, 0, LOAD_ADDR, true, 0x23, 0);
  }
  host.eflags = (c.eflags & 0x8d5) | 0x202;
  host.mem.set(c.mem, MEM_ADDR);
  const isMem = (c.op.modrm & 0xc0) !== 0xc0;
  x.execute(c.op.opc, isMem ? (c.op.modrm & 0x38) | memRm : c.op.modrm, isMem ? 0 : -1, MEM_ADDR, true, 0x23, 0x1000);
  x.execute(0xdd, 0x35, 0, SAVE_ADDR, true, 0x23, 0);
  return { save: host.bytes(SAVE_ADDR, 108), mem: host.bytes(MEM_ADDR, 32), eflags: host.eflags };
}

export function parseNative(line: string): Observed & { defMask: number } {
  const [save, mem, fl, def] = line.split(' ');
  const bytes = (h: string): Uint8Array => Uint8Array.from(h.match(/../g)!.map((b) => parseInt(b, 16)));
  return { save: bytes(save!), mem: bytes(mem!), eflags: parseInt(fl!, 16), defMask: parseInt(def!, 16) };
}
