/**
 * x87 code with the JIT forced on (threshold 0) against the interpreter alone:
 *  - random x87 programs (fixed seed) over a table of edge-case operands end
 *    in the same registers, EFLAGS, FPU state and memory on both CPUs, and
 *    most of their instructions run in compiled code;
 *  - exceptions raised by x87 instructions that sit inside a compiled block
 *    (#NM from CR0.TS/EM/MP, #MF from a pending unmasked exception, #GP from a
 *    segment limit, #UD from a reserved encoding) are precise: the saved EIP
 *    is the faulting instruction's and the instructions before it are done.
 */
import { describe, expect, it } from 'vitest';
import { Rng } from './test-support/xorshift.ts';
import { Cpu } from '../cpu/cpu.ts';
import { StopReason } from '../cpu/host.ts';
import { FlatRamHost } from '../cpu/flat-ram-host.ts';
import { X87 } from '../cpu/fpu/x87.ts';
import { descriptor, gate } from '../cpu/test-support/flat-host.ts';
import { Jit, JIT_FRAMES } from './jit.ts';

// ------------------------------------------------------------------ machine

const CODE = 0x10000;
/** Exception handlers live on their own page, so they never share a region with the code under test. */
const HANDLERS = 0x11000;
const GDT = 0x1000;
const IDT = 0x2000;
const STACK_TOP = 0x80000;

const CR0_BASE = 0x60000011 | 0x20; // PE, ET, CD, NW, NE
const CR0_MP = 0x2;
const CR0_EM = 0x4;
const CR0_TS = 0x8;

/** The data area: operand tables of edge values, scratch space for stores, control words, FNSTENV/FNSAVE images. */
const D = 0x20000;
const DBL = D; // 24 doubles
const FLT = D + 0xc0; // 16 floats
const I32 = D + 0x100; // 12 int32
const I16 = D + 0x130; // 8 int16
const I64 = D + 0x140; // 4 int64
const E80 = D + 0x160; // 8 extended
const BCD = D + 0x1b0; // 2 packed BCD
const SCRATCH = D + 0x1d0; // 256 bytes for stores
const CWS = D + 0x2d0; // 8 control words, all exceptions masked
const ENV = D + 0x2e0; // 28-byte FNSTENV image
const SAVE = D + 0x300; // 108-byte FNSAVE image
const UNMASK_CW = D + 0x370; // 0x037b: ZE unmasked (exception tests only)
/** Operands here straddle the 0x21000 page boundary. */
const PAGE_EDGE = 0x21000;
const DATA_END = 0x21100;
/** EBX during the random programs: [ebx+disp8] reaches DBL+0x100 .. DBL+0x1ff. */
const EBX_BASE = D + 0x180;

const DOUBLES = [
  0, -0, 1, -1, 0.5, 1e300, -1e-300, 5e-324, 2.2250738585072009e-308 * 0.75, Infinity, -Infinity, NaN,
  Math.PI, 2.5, -1234567.5, 9.3e18, -9.3e18, 2147483647.5, -2147483648.5, 32767.5, 1e-10, 0.1, 3, -7.25,
];
const FLOATS = [0, -0, 1, -1, 0.5, 3.4e38, 1e-45, 1.17549435e-38, Infinity, -Infinity, NaN, 0.1, -2.5, 1e10, 65535.5, -3];
const INT32S = [0, 1, -1, 0x7fffffff, -0x80000000, 12345, -7, 16777217, 0x40000000, 100, -100000, 3];
const INT16S = [0, 1, -1, 32767, -32768, 255, -300, 7];
const INT64S = [0n, -1n, 0x7fffffffffffffffn, 9007199254740993n];
/** [sign|exponent, significand]: one, pseudo-denormal, unnormal, pseudo-infinity, denormal, max, quiet NaN, -infinity. */
const EXTENDED: [number, bigint][] = [
  [0x3fff, 0x8000000000000000n], [0x0000, 0x8000000000000000n], [0x3fff, 0x4000000000000000n], [0x7fff, 0n],
  [0x0000, 1n], [0x7ffe, 0xffffffffffffffffn], [0x7fff, 0xc000000000000001n], [0xffff, 0x8000000000000000n],
];
const CONTROL_WORDS = [0x037f, 0x027f, 0x007f, 0x0f7f, 0x0b7f, 0x077f, 0x0c7f, 0x047f];

function writeData(dv: DataView): void {
  DOUBLES.forEach((v, i) => dv.setFloat64(DBL + 8 * i, v, true));
  dv.setUint32(DBL + 8 * 11, 1, true); // a signalling NaN in place of the quiet one
  dv.setUint32(DBL + 8 * 11 + 4, 0x7ff00000, true);
  FLOATS.forEach((v, i) => dv.setFloat32(FLT + 4 * i, v, true));
  dv.setUint32(FLT + 4 * 10, 0x7f800001, true); // signalling NaN
  INT32S.forEach((v, i) => dv.setInt32(I32 + 4 * i, v, true));
  INT16S.forEach((v, i) => dv.setInt16(I16 + 2 * i, v, true));
  INT64S.forEach((v, i) => dv.setBigInt64(I64 + 8 * i, v, true));
  EXTENDED.forEach(([se, sig], i) => {
    dv.setBigUint64(E80 + 10 * i, sig, true);
    dv.setUint16(E80 + 10 * i + 8, se, true);
  });
  [0x90, 0x78, 0x56, 0x34, 0x12, 0x90, 0x78, 0x56, 0x34, 0x80].forEach((b, i) => dv.setUint8(BCD + i, b)); // -3456789012345678990
  [0xab, 0xcd, 0xef, 0x1a, 0x2b, 0x3c, 0x4d, 0x5e, 0x6f, 0x00].forEach((b, i) => dv.setUint8(BCD + 10 + i, b)); // invalid digits
  CONTROL_WORDS.forEach((v, i) => dv.setUint16(CWS + 2 * i, v, true));
  dv.setUint16(UNMASK_CW, 0x037b, true);
  for (let a = PAGE_EDGE - 16; a < PAGE_EDGE + 16; a += 8) dv.setFloat64(a, 1.5 + a, true);
}

interface Machine { cpu: Cpu; host: FlatRamHost; jit: Jit | null; mem: Uint8Array; dv: DataView }

/**
 * A flat 32-bit ring-0 machine without paging (as jit.test.ts's flatMachine)
 * with an x87 unit, a GDT (so exceptions can be delivered through the IDT),
 * an IDT whose gates the tests fill in, and the data area.
 */
function machine(code: number[], jitOn: boolean, cr0 = CR0_BASE): Machine {
  const host = new FlatRamHost(1 << 20, { wasm: true });
  const mem = new Uint8Array(host.buffer);
  const dv = new DataView(host.buffer);
  mem.set(code, CODE);
  writeData(dv);
  [[0, 0] as [number, number], descriptor(0, 0xfffff, 0x9b, 0xc), descriptor(0, 0xfffff, 0x93, 0xc)].forEach(([lo, hi], i) => {
    dv.setUint32(GDT + 8 * i, lo, true);
    dv.setUint32(GDT + 8 * i + 4, hi, true);
  });
  const cpu = new Cpu(host, (fh) => new X87(fh));
  let jit: Jit | null = null;
  if (jitOn) {
    const engine = new Jit(cpu, host.memory!, host.spareFrames.slice(0, JIT_FRAMES), false, { threshold: 0 });
    cpu.enableJit(() => engine);
    jit = engine;
  }
  cpu.setGdtr(GDT, 0x17);
  cpu.setIdtr(IDT, 0x7ff);
  cpu.setCr(0, cr0);
  cpu.setSegment(1, 0x08, 0, 0xffffffff, 0xc9b);
  for (const s of [0, 2, 3, 4, 5]) cpu.setSegment(s, 0x10, 0, 0xffffffff, 0xc93);
  cpu.setReg32(4, STACK_TOP);
  cpu.setEip(CODE);
  return { cpu, host, jit, mem, dv };
}

/** A 32-bit interrupt gate for `vector` to handler code at `addr` (written there). */
function handler(m: Machine, vector: number, addr: number, code: number[]): void {
  const [lo, hi] = gate(0x08, addr, 0xe, 0);
  m.dv.setUint32(IDT + 8 * vector, lo, true);
  m.dv.setUint32(IDT + 8 * vector + 4, hi, true);
  m.mem.set(code, addr);
}

/** Runs until something other than the budget stops the CPU (HLT, an exception with trapExceptions), or the cap. */
function runToStop(cpu: Cpu, cap = 20): StopReason {
  let stop = StopReason.Budget;
  for (let k = 0; k < cap && stop === StopReason.Budget; k++) stop = cpu.run(100_000);
  return stop;
}

/** Path and values of the first difference between two JSON-like values, or null. */
function firstDifference(a: unknown, b: unknown, path = ''): string | null {
  if (Object.is(a, b)) return null;
  if (typeof a === 'object' && typeof b === 'object' && a !== null && b !== null && Array.isArray(a) === Array.isArray(b)) {
    const ra = a as Record<string, unknown>;
    const rb = b as Record<string, unknown>;
    for (const k of new Set([...Object.keys(ra), ...Object.keys(rb)])) {
      const d = firstDifference(ra[k], rb[k], `${path}.${k}`);
      if (d !== null) return d;
    }
    return null;
  }
  const show = (v: unknown): string => (typeof v === 'number' ? `${v} (0x${(v >>> 0).toString(16)})` : JSON.stringify(v));
  return `${path || '(value)'}: interpreter ${show(a)}, JIT ${show(b)}`;
}

/** Everything the two CPUs must agree on, in the order the report names the first difference. */
function observe(m: Machine, stop: StopReason, from = D, to = DATA_END): Record<string, unknown> {
  const c = m.cpu;
  return {
    stop,
    exception: [c.exceptionVector, c.exceptionErrorCode],
    regs: Array.from({ length: 8 }, (_, r) => c.getReg32(r)),
    eip: c.getEip(),
    eflags: c.getEflags(),
    state: c.saveState(),
    memory: Array.from(m.mem.subarray(from, to)),
  };
}

const hex = (bytes: ArrayLike<number>): string => Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join(' ');
const le32 = (v: number): number[] => [v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, (v >>> 24) & 0xff];
/** MOV r32, imm32. */
const movImm = (reg: number, v: number): number[] => [0xb8 + reg, ...le32(v)];

// ------------------------------------------------------------------ random programs

type Kind = 'f32' | 'f64' | 'f80' | 'i16' | 'i32' | 'i64' | 'bcd';
const SIZE: Record<Kind, number> = { f32: 4, f64: 8, f80: 10, i16: 2, i32: 4, i64: 8, bcd: 10 };

/** Generator context: the estimated stack depth (kept mostly within 0..8) and whether ECX is a live loop counter. */
interface Ctx { r: Rng; depth: number; inLoop: boolean }

/** A scratch address for `size` bytes: mostly aligned, sometimes unaligned, sometimes across a page boundary. */
function scratchAddr(r: Rng, size: number): number {
  if (r.chance(0.08)) return PAGE_EDGE - 1 - r.int(size - 1);
  const off = r.int(0x100 - size);
  return SCRATCH + (r.chance(0.8) ? off & ~((size >= 8 ? 8 : size) - 1) : off);
}

/** A load address for `kind`: mostly the table of that type, sometimes stored results or other tables' bytes. */
function loadAddr(r: Rng, kind: Kind): number {
  if (r.chance(0.2)) return scratchAddr(r, SIZE[kind]);
  switch (kind) {
    case 'f32': return FLT + 4 * r.int(FLOATS.length);
    case 'f64': return DBL + 8 * r.int(DOUBLES.length);
    case 'f80': return r.chance(0.8) ? E80 + 10 * r.int(EXTENDED.length) : DBL + 2 * r.int(90);
    case 'i16': return r.chance(0.6) ? I16 + 2 * r.int(INT16S.length) : I32 + 2 * r.int(24);
    case 'i32': return r.chance(0.7) ? I32 + 4 * r.int(INT32S.length) : I64 + 4 * r.int(8);
    case 'i64': return r.chance(0.6) ? I64 + 8 * r.int(INT64S.length) : DBL + 8 * r.int(DOUBLES.length);
    case 'bcd': return BCD + 10 * r.int(2);
  }
}

/** Stores go to scratch space, now and then over the operand tables (so later loads see them). */
function storeAddr(r: Rng, size: number): number {
  return r.chance(0.1) ? D + r.int(SCRATCH - D - size) : scratchAddr(r, size);
}

/** ModRM (with `reg` as its reg field) and displacement for an absolute address: [disp32] or, when in reach, [ebx+disp8]. */
function memOperand(r: Rng, reg: number, addr: number): number[] {
  const d = addr - EBX_BASE;
  if (d >= -128 && d <= 127 && r.chance(0.6)) return [0x43 | (reg << 3), d & 0xff];
  return [0x05 | (reg << 3), ...le32(addr)];
}

/** ST(i): mostly a register that holds a value. */
function sti(c: Ctx): number {
  return c.depth > 0 && c.r.chance(0.9) ? c.r.int(Math.min(c.depth, 8)) : c.r.int(8);
}

// Integer noise: registers other than EBX (the data base) and ECX (the loop counter).
const NOISE_REGS = [0, 2, 5, 6, 7];
/** Instructions that consume the EFLAGS of FCOMI & co.: SETcc into AL/DL/AH/DH, ADC/SBB, CMOVcc, JB over an INC. */
const FLAG_USERS = [
  [0x0f, 0x94, 0xc0], [0x0f, 0x92, 0xc2], [0x0f, 0x9a, 0xc4], [0x0f, 0x97, 0xc6], [0x0f, 0x93, 0xc0], [0x0f, 0x96, 0xc2],
  [0x83, 0xd0, 0x00], [0x83, 0xde, 0x00], [0x0f, 0x42, 0xc7], [0x0f, 0x44, 0xd5], [0x72, 0x01, 0x40],
];
/** Instructions that set the flags an FCMOVcc reads. */
const FLAG_SETTERS = [[0x39, 0xd8], [0x39, 0xf2], [0x85, 0xc0], [0x39, 0xc7]];
/** Reserved ESC encodings: #UD on a Pentium Pro, though the interpreter runs them today (see the exception cases); rare. */
const RESERVED = [[0xd9, 0xd1], [0xd9, 0xe2], [0xda, 0xe0], [0xdb, 0xf8], [0xdd, 0xf0], [0xde, 0xdd], [0xdf, 0xf8]];

interface Op { w: number; need: number; delta: number; gen: (c: Ctx) => number[] }

const load = (op: number, reg: number, kind: Kind): Op['gen'] => (c) => [op, ...memOperand(c.r, reg, loadAddr(c.r, kind))];
const store = (op: number, reg: number, size: number): Op['gen'] => (c) => [op, ...memOperand(c.r, reg, storeAddr(c.r, size))];
const fixed = (...bytes: number[]): Op['gen'] => () => bytes;
const withSt = (op: number, base: number): Op['gen'] => (c) => [op, base + sti(c)];

const OPS: Op[] = [
  // loads
  { w: 4, need: 0, delta: 1, gen: load(0xd9, 0, 'f32') },
  { w: 5, need: 0, delta: 1, gen: load(0xdd, 0, 'f64') },
  { w: 2, need: 0, delta: 1, gen: load(0xdb, 5, 'f80') },
  { w: 2, need: 0, delta: 1, gen: load(0xdf, 0, 'i16') },
  { w: 3, need: 0, delta: 1, gen: load(0xdb, 0, 'i32') },
  { w: 2, need: 0, delta: 1, gen: load(0xdf, 5, 'i64') },
  { w: 0.5, need: 0, delta: 1, gen: load(0xdf, 4, 'bcd') },
  { w: 3, need: 0, delta: 1, gen: withSt(0xd9, 0xc0) }, // FLD ST(i)
  { w: 3, need: 0, delta: 1, gen: (c) => [0xd9, 0xe8 + c.r.int(7)] }, // FLD1 FLDL2T FLDL2E FLDPI FLDLG2 FLDLN2 FLDZ
  // stores
  { w: 2, need: 1, delta: 0, gen: store(0xd9, 2, 4) },
  { w: 2, need: 1, delta: -1, gen: store(0xd9, 3, 4) },
  { w: 2, need: 1, delta: 0, gen: store(0xdd, 2, 8) },
  { w: 3, need: 1, delta: -1, gen: store(0xdd, 3, 8) },
  { w: 1, need: 1, delta: -1, gen: store(0xdb, 7, 10) },
  { w: 1.5, need: 1, delta: 0, gen: store(0xdf, 2, 2) },
  { w: 1.5, need: 1, delta: -1, gen: store(0xdf, 3, 2) },
  { w: 1.5, need: 1, delta: 0, gen: store(0xdb, 2, 4) },
  { w: 1.5, need: 1, delta: -1, gen: store(0xdb, 3, 4) },
  { w: 1.5, need: 1, delta: -1, gen: store(0xdf, 7, 8) },
  { w: 0.5, need: 1, delta: -1, gen: store(0xdf, 6, 10) }, // FBSTP
  { w: 1.5, need: 1, delta: 0, gen: withSt(0xdd, 0xd0) }, // FST ST(i)
  { w: 2, need: 1, delta: -1, gen: withSt(0xdd, 0xd8) }, // FSTP ST(i)
  // arithmetic and compares with a memory operand (reg 3 is FCOMP)
  ...([[0xd8, 'f32'], [0xdc, 'f64'], [0xda, 'i32'], [0xde, 'i16']] as const).flatMap(([op, kind]) => [
    { w: 3, need: 1, delta: 0, gen: (c: Ctx) => { const reg = c.r.pick([0, 1, 2, 4, 5, 6, 7]); return [op, ...memOperand(c.r, reg, loadAddr(c.r, kind))]; } },
    { w: 0.5, need: 1, delta: -1, gen: load(op, 3, kind) },
  ]),
  // register arithmetic: D8 ST(0) op= ST(i), DC ST(i) op= ST(0), DE ... and pop
  { w: 6, need: 2, delta: 0, gen: (c) => [0xd8, 0xc0 + 8 * c.r.pick([0, 1, 2, 4, 5, 6, 7]) + sti(c)] },
  { w: 1, need: 2, delta: -1, gen: withSt(0xd8, 0xd8) }, // FCOMP ST(i)
  { w: 4, need: 2, delta: 0, gen: (c) => [0xdc, 0xc0 + 8 * c.r.pick([0, 1, 4, 5, 6, 7]) + sti(c)] },
  { w: 4, need: 2, delta: -1, gen: (c) => [0xde, 0xc0 + 8 * c.r.pick([0, 1, 4, 5, 6, 7]) + sti(c)] },
  { w: 1, need: 2, delta: -2, gen: fixed(0xde, 0xd9) }, // FCOMPP
  { w: 1, need: 2, delta: 0, gen: withSt(0xdd, 0xe0) }, // FUCOM
  { w: 1, need: 2, delta: -1, gen: withSt(0xdd, 0xe8) }, // FUCOMP
  { w: 1, need: 2, delta: -2, gen: fixed(0xda, 0xe9) }, // FUCOMPP
  // FCOMI FUCOMI FCOMIP FUCOMIP, then an instruction that reads the flags
  ...([[0xdb, 0xf0, 0], [0xdb, 0xe8, 0], [0xdf, 0xf0, -1], [0xdf, 0xe8, -1]] as const).map(([op, base, delta]) => (
    { w: 2, need: 2, delta, gen: (c: Ctx) => [op, base + sti(c), ...c.r.pick(FLAG_USERS)] })),
  // FCMOVcc (DA: B E BE U, DB: NB NE NBE NU), sometimes after an integer compare
  { w: 3, need: 1, delta: 0, gen: (c) => [...(c.r.chance(0.5) ? c.r.pick(FLAG_SETTERS) : []), c.r.pick([0xda, 0xdb]), 0xc0 + 8 * c.r.int(4) + sti(c)] },
  // FNSTSW AX and a use of AX: ADD ESI,EAX / SAHF; SETA DL / TEST AH,45h; SETNZ DL
  { w: 3, need: 0, delta: 0, gen: (c) => [0xdf, 0xe0, ...c.r.pick([[0x01, 0xc6], [0x9e, 0x0f, 0x97, 0xc2], [0xf6, 0xc4, 0x45, 0x0f, 0x95, 0xc2]])] },
  { w: 1, need: 0, delta: 0, gen: store(0xd9, 7, 2) }, // FNSTCW
  { w: 1.5, need: 0, delta: 0, gen: (c) => [0xd9, ...memOperand(c.r, 5, CWS + 2 * c.r.int(CONTROL_WORDS.length))] }, // FLDCW
  { w: 3, need: 1, delta: 0, gen: withSt(0xd9, 0xc8) }, // FXCH
  { w: 0.3, need: 1, delta: 0, gen: (c) => [c.r.pick([0xdd, 0xdf]), 0xc8 + sti(c)] }, // FXCH4 / FXCH7 aliases
  { w: 0.3, need: 1, delta: -1, gen: (c) => [c.r.pick([0xd9, 0xdf]), 0xd8 + sti(c)] }, // FSTP1 / FSTP9 aliases
  { w: 0.3, need: 1, delta: -1, gen: withSt(0xdf, 0xc0) }, // FFREEP
  // one-operand and constant-free operations
  ...[0xe0, 0xe1, 0xfa, 0xfc, 0xfe, 0xff, 0xf0].map((b) => ({ w: b === 0xe0 || b === 0xe1 || b === 0xfa ? 2 : 1, need: 1, delta: 0, gen: fixed(0xd9, b) })),
  ...[0xe4, 0xe5].map((b) => ({ w: 1, need: 0, delta: 0, gen: fixed(0xd9, b) })), // FTST FXAM
  ...[0xfd, 0xf8, 0xf5].map((b) => ({ w: 1, need: 2, delta: 0, gen: fixed(0xd9, b) })), // FSCALE FPREM FPREM1
  ...[0xf1, 0xf3, 0xf9].map((b) => ({ w: 0.7, need: 2, delta: -1, gen: fixed(0xd9, b) })), // FYL2X FPATAN FYL2XP1
  ...[0xf2, 0xfb, 0xf4].map((b) => ({ w: 0.5, need: 1, delta: 1, gen: fixed(0xd9, b) })), // FPTAN FSINCOS FXTRACT
  { w: 0.5, need: 0, delta: 0, gen: (c) => [0xd9, c.r.pick([0xf6, 0xf7])] }, // FDECSTP FINCSTP
  { w: 0.7, need: 0, delta: 0, gen: withSt(0xdd, 0xc0) }, // FFREE (the model ignores the tag it empties)
  { w: 1, need: 0, delta: 0, gen: fixed(0xdb, 0xe2) }, // FNCLEX
  { w: 1.5, need: 0, delta: 0, gen: fixed(0x9b) }, // FWAIT
  { w: 0.5, need: 0, delta: 0, gen: fixed(0xd9, 0xd0) }, // FNOP
  { w: 0.5, need: 0, delta: 0, gen: (c) => [0xd9, ...memOperand(c.r, 6, ENV), ...(c.r.chance(0.7) ? [0xd9, ...memOperand(c.r, 4, ENV)] : [])] }, // FNSTENV [; FLDENV]
  // integer noise between the x87 instructions
  { w: 4, need: 0, delta: 0, gen: (c) => [c.r.pick([0x01, 0x31, 0x89]), 0xc0 | (c.r.int(8) << 3) | c.r.pick(NOISE_REGS)] },
  { w: 1, need: 0, delta: 0, gen: (c) => (c.inLoop ? [0x45] : [0x41]) }, // INC ECX (INC EBP inside loops)
];
const OPS_WEIGHT = OPS.reduce((s, o) => s + o.w, 0);

function pickOp(r: Rng): Op {
  let x = r.next() / 0x100000000 * OPS_WEIGHT;
  for (const o of OPS) if ((x -= o.w) < 0) return o;
  return OPS[OPS.length - 1]!;
}

/** One instruction (group) that keeps the stack within 0..8 unless a rare over/underflow is allowed. */
function genOne(c: Ctx): number[] {
  for (;;) {
    const o = pickOp(c.r);
    const fits = c.depth >= o.need && c.depth + o.delta <= 8;
    if (fits || c.r.chance(0.04)) {
      c.depth = Math.max(0, Math.min(8, c.depth + o.delta));
      return o.gen(c);
    }
  }
}

/**
 * A program: FNINIT, 20-40 instructions or groups, sometimes a loop run 3-5
 * times (so compiled blocks run again), sometimes an FNSAVE ... FRSTOR
 * bracket or a reserved encoding, and HLT.
 */
function genProgram(r: Rng): number[] {
  const c: Ctx = { r, depth: 0, inLoop: false };
  const out = [0xdb, 0xe3];
  const n = 20 + r.int(21);
  for (let k = 0; k < n; k++) {
    const roll = r.next() % 1000;
    if (roll < 40) {
      const body: number[] = [];
      const d0 = c.depth;
      c.inLoop = true;
      for (let j = 3 + r.int(6); j > 0; j--) body.push(...genOne(c));
      c.inLoop = false;
      // Rebalance the body so that its iterations neither pile up nor drain the stack.
      for (; c.depth > d0; c.depth--) body.push(0xdd, 0xd8);
      for (; c.depth < d0; c.depth++) body.push(0xd9, 0xe8);
      if (body.length > 125) throw new Error('loop body too long for JNZ rel8');
      out.push(0xb9, ...le32(3 + r.int(3)), ...body, 0x49, 0x75, (-(body.length + 3)) & 0xff);
    } else if (roll < 55) {
      const d0 = c.depth;
      out.push(0xdd, ...memOperand(r, 6, SAVE)); // FNSAVE (then the FPU is reinitialised)
      c.depth = 0;
      for (let j = r.int(4); j > 0; j--) out.push(...genOne(c));
      out.push(0xdd, ...memOperand(r, 4, SAVE)); // FRSTOR
      c.depth = d0;
    } else if (roll < 58) {
      out.push(...r.pick(RESERVED));
    } else {
      out.push(...genOne(c));
    }
  }
  out.push(0xf4);
  return out;
}

function runProgram(code: number[], jitOn: boolean): { m: Machine; obs: Record<string, unknown> } {
  const m = machine(code, jitOn);
  m.cpu.trapExceptions = true; // a #UD from a reserved encoding stops both CPUs where it happened
  [0x1234, 0, 0x5678, EBX_BASE, STACK_TOP, 0, 0x0f0f, 0xdeadbeef].forEach((v, r) => m.cpu.setReg32(r, v));
  const stop = runToStop(m.cpu);
  return { m, obs: observe(m, stop) };
}

interface RandomResults { programs: number; mismatches: string[]; compiled: number; retired: number; stops: Map<StopReason, number> }
let randomResults: RandomResults | null = null;

/** Runs every random program on both CPUs once (the equality and the compiled-share tests share the runs). */
function randomRuns(): RandomResults {
  if (randomResults !== null) return randomResults;
  const r = new Rng(0x87c0de);
  const res: RandomResults = { programs: 300, mismatches: [], compiled: 0, retired: 0, stops: new Map() };
  for (let p = 0; p < res.programs; p++) {
    const code = genProgram(r);
    const a = runProgram(code, false);
    const b = runProgram(code, true);
    const diff = firstDifference(a.obs, b.obs);
    if (diff !== null) res.mismatches.push(`program ${p}: ${diff}\n  code: ${hex(code)}`);
    res.compiled += b.m.jit!.stats.instructions;
    res.retired += b.m.cpu.instructionsRetired;
    const stop = a.obs.stop as StopReason;
    res.stops.set(stop, (res.stops.get(stop) ?? 0) + 1);
  }
  randomResults = res;
  return res;
}

describe('random x87 programs, JIT forced on vs interpreter', () => {
  it('end in the same registers, EFLAGS, CPU and FPU state and memory', () => {
    const res = randomRuns();
    if (res.mismatches.length > 0) console.log(`${res.mismatches.length} of ${res.programs} programs differ\n${res.mismatches.slice(0, 10).join('\n')}`);
    expect(res.mismatches.slice(0, 5)).toEqual([]);
    // Programs end at their HLT, or at an exception (trapExceptions: a reserved encoding, if the CPU raised #UD for it).
    expect(res.stops.get(StopReason.HaltedNoInterrupts) ?? 0).toBeGreaterThan(res.programs * 0.7);
    expect([...res.stops.keys()].every((s) => s === StopReason.HaltedNoInterrupts || s === StopReason.Exception)).toBe(true);
  }, 60_000);

  // x87 instructions run inside compiled blocks (through the x87 import),
  // so most of a program runs compiled; before that each one ended its block.
  it('run at least half of their instructions in compiled code', () => {
    const res = randomRuns();
    expect(res.compiled / res.retired, `${res.compiled} of ${res.retired} instructions compiled`).toBeGreaterThanOrEqual(0.5);
  }, 60_000);
});

// ------------------------------------------------------------------ EFLAGS across x87 instructions

/**
 * Small fixed programs for the one place where x87 and integer state meet:
 * EFLAGS. An integer instruction before the x87 one leaves lazy flags in
 * the block; FCOMI & co. must replace them, FCMOVcc must read them, and the
 * others must keep them.
 */
const FLAG_CASES: { name: string; code: number[]; check: (m: Machine) => void }[] = [
  {
    name: 'FCOMI after INC: SETB sees CF from the comparison (0 < 1)',
    code: [0xdb, 0xe3, 0xd9, 0xe8, 0xd9, 0xee, 0x41, 0xdb, 0xf1, 0x0f, 0x92, 0xc0, 0xf4],
    check: (m) => expect(m.cpu.getReg32(0)).toBe(1),
  },
  {
    name: 'FUCOMIP after CMP: JA is taken (1 > 0) although CMP set ZF',
    code: [0xdb, 0xe3, 0xd9, 0xee, 0xd9, 0xe8, 0x39, 0xd8, 0xdf, 0xe9, 0x77, 0x05, ...movImm(2, 1), 0xf4],
    check: (m) => expect(m.cpu.getReg32(2)).toBe(0),
  },
  {
    name: 'FCOMI after ADD: ADC adds the CF of the comparison',
    code: [0xdb, 0xe3, 0xd9, 0xe8, 0xd9, 0xee, 0x01, 0xf6, 0xdb, 0xf1, 0x83, 0xd7, 0x00, 0xf4],
    check: (m) => expect(m.cpu.getReg32(7)).toBe(1),
  },
  {
    name: 'FCMOVNE after XOR ESI,ESI (ZF = 1) does not move',
    code: [0xdb, 0xe3, 0xd9, 0xee, 0xd9, 0xe8, 0x31, 0xf6, 0xdb, 0xc9, 0xdd, 0x1d, ...le32(SCRATCH), 0xf4],
    check: (m) => expect(m.dv.getFloat64(SCRATCH, true)).toBe(1),
  },
  {
    name: 'FCMOVB after CMP 1,2 (CF = 1) moves',
    code: [...movImm(0, 1), ...movImm(2, 2), 0xdb, 0xe3, 0xd9, 0xee, 0xd9, 0xe8, 0x39, 0xd0, 0xda, 0xc1, 0xdd, 0x1d, ...le32(SCRATCH), 0xf4],
    check: (m) => expect(m.dv.getFloat64(SCRATCH, true)).toBe(0),
  },
  {
    name: 'FCOM; FNSTSW AX; SAHF; SETB: C0 becomes CF (0 < 1)',
    code: [0xdb, 0xe3, 0xd9, 0xe8, 0xd9, 0xee, 0xd8, 0xd1, 0xdf, 0xe0, 0x9e, 0x0f, 0x92, 0xc2, 0xf4],
    check: (m) => expect(m.cpu.getReg32(2)).toBe(1),
  },
  {
    name: 'the flags of CMP survive FLD1, FSTP ST(0) and FWAIT',
    code: [...movImm(1, 0), 0x83, 0xf9, 0x01, 0xd9, 0xe8, 0xdd, 0xd8, 0x9b, 0x0f, 0x92, 0xc0, 0xf4],
    check: (m) => expect(m.cpu.getReg32(0)).toBe(1),
  },
];

describe('EFLAGS between integer and x87 instructions of one block', () => {
  for (const k of FLAG_CASES) {
    it(k.name, () => {
      const [a, b] = [false, true].map((jitOn) => {
        const m = machine(k.code, jitOn);
        [0, 0, 0, 0, STACK_TOP, 0, 0, 0].forEach((v, r) => m.cpu.setReg32(r, v));
        const stop = runToStop(m.cpu);
        return { m, obs: observe(m, stop) };
      }) as [{ m: Machine; obs: Record<string, unknown> }, { m: Machine; obs: Record<string, unknown> }];
      expect(a.obs.stop).toBe(StopReason.HaltedNoInterrupts);
      k.check(a.m);
      expect(firstDifference(a.obs, b.obs)).toBeNull();
    });
  }
});

// ------------------------------------------------------------------ precise exceptions

/** Handler: MOV EAX,tag; MOV EDI,[ESP] (the saved EIP); HLT. */
const eipHandler = (tag: number): number[] => [...movImm(0, tag), 0x8b, 0x3c, 0x24, 0xf4];
/** Handler for vectors with an error code: MOV EAX,tag; MOV EBP,[ESP] (error code); MOV EDI,[ESP+4] (EIP); HLT. */
const errHandler = (tag: number): number[] => [...movImm(0, tag), 0x8b, 0x2c, 0x24, 0x8b, 0x7c, 0x24, 0x04, 0xf4];
/** Two integer instructions, so the x87 instruction after them is not the first of its block. */
const PRELUDE = [...movImm(2, 0x1111), ...movImm(6, 0x2222)];
const FNINIT = [0xdb, 0xe3];
const FLDCW_UNMASK_ZE = [0xd9, 0x2d, ...le32(UNMASK_CW)];
/** FLDZ; FLD1; FDIV ST(0),ST(1): 1/0 with ZE unmasked leaves ST(0) = 1 and an exception pending. */
const DIVIDE_BY_ZERO = [0xd9, 0xee, 0xd9, 0xe8, 0xd8, 0xf1];

interface Case {
  name: string;
  cr0?: number;
  /** Code pieces; the address of the piece at `at` is the expected saved EIP. */
  pieces: number[][];
  at: number;
  vector: number;
  setup?: (m: Machine) => void;
  check?: (m: Machine) => void;
}

const ONE = '3fff8000000000000000';
/** Loop body: LEA EAX,[ECX-1]; MOV [SCRATCH],EAX; FLD1; FIDIV dword [SCRATCH]. */
const LOOP_DIVIDE = [0x8d, 0x41, 0xff, 0xa3, ...le32(SCRATCH), 0xd9, 0xe8, 0xda, 0x35, ...le32(SCRATCH)];

const CASES: Case[] = [
  {
    name: '#NM: CR0.TS and an FLD after two integer instructions',
    cr0: CR0_BASE | CR0_TS,
    pieces: [PRELUDE, [0xdd, 0x05, ...le32(DBL + 8 * 13)], [0xf4]],
    at: 1, vector: 7,
    check: (m) => expect(m.cpu.saveState().fpu).toMatchObject({ tagWord: 0xffff, statusWord: 0 }),
  },
  {
    name: '#NM: CR0.TS+MP and FWAIT',
    cr0: CR0_BASE | CR0_TS | CR0_MP,
    pieces: [PRELUDE, [0x9b], [0xf4]],
    at: 1, vector: 7,
  },
  {
    name: '#NM: CR0.TS without MP lets FWAIT pass, then FLDZ faults',
    cr0: CR0_BASE | CR0_TS,
    pieces: [PRELUDE, [0x9b, 0x41], [0xd9, 0xee], [0xf4]],
    at: 2, vector: 7,
    check: (m) => expect(m.cpu.getReg32(1)).toBe(1),
  },
  {
    name: '#NM: CR0.EM and the non-waiting FNSTSW AX',
    cr0: CR0_BASE | CR0_EM,
    pieces: [PRELUDE, [0xdf, 0xe0], [0xf4]],
    at: 1, vector: 7,
  },
  {
    name: '#NM: CR0.TS after a loop that ran compiled',
    cr0: CR0_BASE | CR0_TS,
    pieces: [[...movImm(1, 4), 0x42, 0x49, 0x75, 0xfc, 0x01, 0xd6], [0xd9, 0xe8], [0xf4]],
    at: 1, vector: 7,
    check: (m) => expect([m.cpu.getReg32(1), m.cpu.getReg32(2), m.cpu.getReg32(6)]).toEqual([0, 4, 4]),
  },
  {
    name: '#MF: a pending zero divide faults at the next waiting x87 instruction (FADD)',
    pieces: [[...FNINIT, ...FLDCW_UNMASK_ZE, ...DIVIDE_BY_ZERO, ...movImm(2, 0x77)], [0xd8, 0xc1], [0xf4]],
    at: 1, vector: 16,
    check: (m) => {
      const fpu = m.cpu.saveState().fpu as { statusWord: number; registers: Record<string, string> };
      expect(fpu.statusWord & 0xb8ff).toBe(0x8084 | (6 << 11)); // B, ES, ZE; TOP = 6
      expect(fpu.registers.r6).toBe(ONE); // the divide left its destination alone
    },
  },
  {
    name: '#MF: FNSTSW AX does not wait, FWAIT does',
    pieces: [[...FNINIT, ...FLDCW_UNMASK_ZE, ...DIVIDE_BY_ZERO, ...movImm(2, 0x77), 0xdf, 0xe0, 0x89, 0xc6], [0x9b], [0xf4]],
    at: 1, vector: 16,
    check: (m) => expect(m.cpu.getReg32(6) & 0x80ff).toBe(0x8084),
  },
  {
    name: '#MF: FIDIV by a counter that reaches zero in the third iteration of a loop; FSTP ST(0) faults',
    pieces: [
      [...FNINIT, ...FLDCW_UNMASK_ZE, ...movImm(1, 3)],
      LOOP_DIVIDE,
      [0xdd, 0xd8], // FSTP ST(0)
      [0x49, 0x75, (-(LOOP_DIVIDE.length + 2 + 3)) & 0xff, 0xf4], // DEC ECX; JNZ loop; HLT
    ],
    at: 2, vector: 16,
    check: (m) => {
      expect(m.cpu.getReg32(1)).toBe(1);
      expect(m.dv.getUint32(SCRATCH, true)).toBe(0);
    },
  },
  {
    name: 'no #MF once FNCLEX cleared the pending exception',
    pieces: [[...FNINIT, ...FLDCW_UNMASK_ZE, ...DIVIDE_BY_ZERO, 0xdb, 0xe2, ...movImm(2, 0x77), 0xd8, 0xc1], [0xf4]],
    at: -1, vector: -1,
  },
  {
    name: '#GP(0): FLD qword GS:[limit-3] beyond a byte-granular GS limit',
    pieces: [PRELUDE, [0x65, 0xdd, 0x05, ...le32(0x1fffc)], [0xf4]],
    at: 1, vector: 13,
    setup: (m) => m.cpu.setSegment(5, 0x10, 0, 0x1ffff, 0x493),
    check: (m) => expect(m.cpu.saveState().fpu).toMatchObject({ tagWord: 0xffff }),
  },
  {
    name: '#GP(0): FSTP qword GS:[limit-3] stores nothing and pops nothing',
    pieces: [[...FNINIT, 0xd9, 0xeb, ...PRELUDE], [0x65, 0xdd, 0x1d, ...le32(0x1fffc)], [0xf4]],
    at: 1, vector: 13,
    setup: (m) => m.cpu.setSegment(5, 0x10, 0, 0x1ffff, 0x493),
    check: (m) => {
      expect(m.dv.getUint32(0x1fffc, true)).toBe(0);
      const fpu = m.cpu.saveState().fpu as { statusWord: number; tagWord: number };
      expect([fpu.tagWord, (fpu.statusWord >> 11) & 7]).toEqual([0x3fff, 7]); // FLDPI's value still on the stack
    },
  },
  {
    // Reserved on a Pentium Pro (x87-decode.ts isValidX87): #UD, not FNOP.
    name: '#UD for a reserved ESC encoding (D9 D1)',
    pieces: [PRELUDE, [0xd9, 0xd1], [0xf4]],
    at: 1, vector: 6,
  },
];

describe('precise exceptions from x87 instructions inside compiled blocks', () => {
  for (const k of CASES) {
    it(k.name, () => {
      const code = k.pieces.flat();
      const at = k.at < 0 ? -1 : CODE + k.pieces.slice(0, k.at).flat().length;
      const runs = [false, true].map((jitOn) => {
        const m = machine(code, jitOn, k.cr0);
        // Known values (EBP: so that the #GP handler's error code 0 shows).
        [0, 0, 0, 0, STACK_TOP, 0x5a5a5a5a, 0, 0].forEach((v, r) => m.cpu.setReg32(r, v));
        for (const v of [6, 7, 16]) handler(m, v, HANDLERS + 0x40 * v, eipHandler(0xe000 + v));
        handler(m, 13, HANDLERS + 0x40 * 13, errHandler(0xe000 + 13));
        k.setup?.(m);
        const stop = runToStop(m.cpu);
        expect(stop, `jit ${jitOn}`).toBe(StopReason.HaltedNoInterrupts);
        if (k.vector < 0) {
          expect(m.cpu.getEip()).toBe(CODE + code.length); // ran to its own HLT
        } else {
          expect(m.cpu.getReg32(0), `jit ${jitOn}: handler`).toBe(0xe000 + k.vector);
          expect(m.cpu.getReg32(7) >>> 0, `jit ${jitOn}: saved EIP`).toBe(at);
          if (k.vector === 13) expect(m.cpu.getReg32(5)).toBe(0);
        }
        if (k.pieces[0] === PRELUDE) expect([m.cpu.getReg32(2), m.cpu.getReg32(6)]).toEqual([0x1111, 0x2222]);
        k.check?.(m);
        return { m, obs: observe(m, stop, 0x1f000, DATA_END) };
      });
      const [a, b] = runs as [(typeof runs)[0], (typeof runs)[0]];
      const stackA = Array.from(a.m.mem.subarray(STACK_TOP - 64, STACK_TOP));
      const stackB = Array.from(b.m.mem.subarray(STACK_TOP - 64, STACK_TOP));
      expect(firstDifference({ ...a.obs, stackA }, { ...b.obs, stackA: stackB })).toBeNull();
      // The JIT took part: at least the integer instructions before the fault ran compiled.
      expect(b.m.jit!.stats.instructions).toBeGreaterThan(0);
    });
  }
});
