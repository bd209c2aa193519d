/**
 * Case generator: instruction-group templates with random operands, random
 * ModRM/SIB forms into the data/stack windows, 8/16/32-bit operand sizes,
 * immediate forms and edge values. Deterministic: case `id` of seed `seed`
 * is always the same case (each case has its own PRNG stream).
 */
import { Rng } from './prng.ts';
import {
  type Effect, type Known, type MemOperand, type Operand, type Size, Builder, EAX, EBP, EBX, ECX, EDI, EDX, ESI, ESP,
  Reject, absMem, bit, bytesOf, fx, le, maskOf, NO_FX, operandValue, reg8Full, undefDest, unionFx,
  type BuiltSnippet,
} from './builder.ts';
import { type CaseInput, DATA_WIN, DATA_WIN_LEN, INITIAL_ESP, PAGE_SIZE, STACK_WIN, STACK_WIN_LEN, CODE_BASE, STACK_BASE as STACK_BASE_ADDR } from './format.ts';
import { AC, AF, ARITH, CF, DF, OF, PF, SF, TF, ZF } from './undefined-masks.ts';

export interface GenCase extends CaseInput {
  id: number;
  group: string;
  built: BuiltSnippet;
}

type Template = (b: Builder) => void;

interface Group {
  name: string;
  /** Relative share of the cases. */
  weight: number;
  maxInsns: number;
  templates: Array<[weight: number, t: Template]>;
  /** Optional setup before the first instruction (e.g. page-end placement). */
  setup?: (b: Builder) => void;
}

const full = (r: number, size: Size): number => (size === 8 ? reg8Full(r) : r);
const w1 = (size: Size): number => (size === 8 ? 0 : 1);
const immFor = (b: Builder, size: Size): [number, number] => [b.value(size), bytesOf(size)];

/** Flags read by condition code cc (Jcc/SETcc/CMOVcc). */
export const CC_FLAGS = [OF, OF, CF, CF, ZF, ZF, CF | ZF, CF | ZF, SF, SF, PF, PF, SF | OF, SF | OF, ZF | SF | OF, ZF | SF | OF];

const LOGIC_FX = fx(ARITH & ~AF, AF, ['logicAf']);
const ARITH_FX = fx(ARITH);

function tryPins(f: () => void): boolean {
  try {
    f();
    return true;
  } catch (e) {
    if (e instanceof Reject) return false;
    throw e;
  }
}

// ------------------------------------------------------------------ ALU

function aluT(ops: readonly number[]): Template {
  return (b) => {
    const r = b.rng;
    const op = r.pick(ops);
    const logic = op === 1 || op === 4 || op === 6;
    const effect = logic ? LOGIC_FX : ARITH_FX;
    const flagsRead = op === 2 || op === 3 ? CF : 0;
    const write = op !== 7;
    const size = b.size();
    const form = r.int(6);
    if (form === 0) {
      const rm = b.rm(size, write);
      const reg = b.reg(size, false);
      const lock = write && rm.kind === 'mem' && r.bool(0.15);
      // A REP/REPNE prefix on a non-string instruction is ignored.
      const rep = !lock && r.bool(0.03) ? r.pick([0xf2, 0xf3]) : undefined;
      b.op({ size, opcode: [op * 8 + w1(size)], rm, regField: reg, rmWrite: write, reads: bit(full(reg, size)), flagsRead, effect, lock, rep });
    } else if (form === 1) {
      const reg = b.reg(size, write);
      const rm = b.rm(size, false);
      const fr = bit(full(reg, size));
      b.op({ size, opcode: [op * 8 + 2 + w1(size)], rm, regField: reg, reads: fr, writes: write ? fr : 0, flagsRead, effect });
    } else if (form === 2) {
      if (write && (b.protectedRegs & bit(EAX)) !== 0) throw new Reject('eax protected');
      b.op({ size, opcode: [op * 8 + 4 + w1(size)], imm: [immFor(b, size)], reads: bit(EAX), writes: write ? bit(EAX) : 0, flagsRead, effect });
    } else {
      const rm = b.rm(size, write);
      const lock = write && rm.kind === 'mem' && r.bool(0.15);
      let opcode: number;
      let imm: [number, number];
      if (size === 8) {
        opcode = form === 5 ? 0x82 : 0x80; // 82 is the 32-bit-mode alias of 80
        imm = [b.value(8), 1];
      } else if (form === 4) {
        opcode = 0x83;
        imm = [r.bool(0.5) ? r.pick([0, 1, 0x7f, 0x80, 0xff, 0xfe]) : r.int(256), 1];
      } else {
        opcode = 0x81;
        imm = immFor(b, size);
      }
      b.op({ size, opcode: [opcode], rm, regField: op, rmWrite: write, imm: [imm], flagsRead, effect, lock });
    }
  };
}

const testT: Template = (b) => {
  const r = b.rng;
  const size = b.size();
  const form = r.int(4);
  if (form === 0) {
    const rm = b.rm(size, false);
    const reg = b.reg(size, false);
    b.op({ size, opcode: [0x84 + w1(size)], rm, regField: reg, reads: bit(full(reg, size)), effect: LOGIC_FX });
  } else if (form === 1) {
    b.op({ size, opcode: [0xa8 + w1(size)], imm: [immFor(b, size)], reads: bit(EAX), effect: LOGIC_FX });
  } else {
    // F6/F7 /0; /1 is an undocumented alias that real CPUs execute as TEST.
    const rm = b.rm(size, false);
    b.op({ size, opcode: [0xf6 + w1(size)], rm, regField: r.bool(0.1) ? 1 : 0, imm: [immFor(b, size)], effect: LOGIC_FX });
  }
};

const incDecT: Template = (b) => {
  const r = b.rng;
  const dec = r.bool(0.5);
  const effect = fx(OF | SF | ZF | AF | PF);
  const size = b.size();
  if (size !== 8 && r.bool(0.4)) {
    const reg = b.reg(size, true);
    b.op({ size, opcode: [(dec ? 0x48 : 0x40) + reg], reads: bit(reg), writes: bit(reg), effect });
  } else {
    const rm = b.rm(size, true);
    b.op({ size, opcode: [size === 8 ? 0xfe : 0xff], rm, regField: dec ? 1 : 0, rmWrite: true, effect, lock: rm.kind === 'mem' && r.bool(0.15) });
  }
};

const negNotT: Template = (b) => {
  const neg = b.rng.bool(0.6);
  const size = b.size();
  const rm = b.rm(size, true);
  b.op({
    size, opcode: [0xf6 + w1(size)], rm, regField: neg ? 3 : 2, rmWrite: true, effect: neg ? ARITH_FX : NO_FX,
    lock: rm.kind === 'mem' && b.rng.bool(0.15),
  });
};

// ------------------------------------------------------- shifts, rotates

function shiftFx(ext: number, width: number, count: number): Effect {
  const c = count & 31;
  if (c === 0) return NO_FX;
  if (ext <= 3) return c === 1 ? fx(CF | OF) : fx(CF, OF, ['rotateOf']);
  let def = CF | OF | SF | ZF | PF;
  let undef = AF;
  const rules: Effect['rules'] = ['shiftAf'];
  if (c > 1) { def &= ~OF; undef |= OF; rules.push('shiftOf'); }
  if (ext !== 7 && c >= width) { def &= ~CF; undef |= CF; rules.push('shiftCfWide'); }
  return fx(def, undef, rules);
}

function countFx(k: Known, known: number | undefined, f: (c: number) => Effect): Effect {
  void k;
  if (known !== undefined) return f(known);
  const all: Effect[] = [];
  for (let c = 0; c < 32; c++) all.push(f(c));
  return unionFx(all);
}

function shiftT(exts: readonly number[]): Template {
  return (b) => {
    const r = b.rng;
    let ext = r.pick(exts);
    if (ext === 4 && r.bool(0.08)) ext = 6; // /6: undocumented SAL alias
    const size = b.size();
    const rm = b.rm(size, true);
    const form = r.int(3);
    const flagsRead = ext === 2 || ext === 3 ? CF : 0;
    const extFx = ext === 6 ? 4 : ext;
    if (form === 0) {
      b.op({ size, opcode: [0xd0 + w1(size)], rm, regField: ext, rmWrite: true, flagsRead, effect: shiftFx(extFx, size, 1) });
    } else if (form === 1) {
      const c = b.count();
      b.op({ size, opcode: [0xc0 + w1(size)], rm, regField: ext, rmWrite: true, imm: [[c, 1]], flagsRead, effect: shiftFx(extFx, size, c) });
    } else {
      if (b.isFree(ECX) && r.bool(0.6)) tryPins(() => b.pinPart(ECX, 8, b.count()));
      b.op({
        size, opcode: [0xd2 + w1(size)], rm, regField: ext, rmWrite: true, reads: bit(ECX), flagsRead,
        effect: (k) => countFx(k, k.reg(ECX), (c) => shiftFx(extFx, size, c & 0xff)),
      });
    }
  };
}

function shldFx(size: Size, count: number, dest: Operand): Effect {
  const c = count & 31;
  if (c === 0) return NO_FX;
  if (size === 16 && c > 16) return { ...fx(0, ARITH, ['shldBig']), ...undefDest(dest, 16) };
  return c === 1 ? fx(CF | OF | SF | ZF | PF, AF, ['shldAfOf']) : fx(CF | SF | ZF | PF, AF | OF, ['shldAfOf']);
}

const shldT: Template = (b) => {
  const r = b.rng;
  const size: Size = r.bool(0.4) ? 16 : 32;
  const right = r.bool(0.5);
  const rm = b.rm(size, true);
  const reg = b.reg(size, false);
  if (r.bool(0.5)) {
    const c = b.count();
    b.op({ size, opcode: [0x0f, right ? 0xac : 0xa4], rm, regField: reg, rmWrite: true, reads: bit(reg), imm: [[c, 1]], effect: shldFx(size, c, rm) });
  } else {
    if (b.isFree(ECX) && r.bool(0.6)) tryPins(() => b.pinPart(ECX, 8, b.count()));
    b.op({
      size, opcode: [0x0f, right ? 0xad : 0xa5], rm, regField: reg, rmWrite: true, reads: bit(reg) | bit(ECX),
      effect: (k) => countFx(k, k.reg(ECX), (c) => shldFx(size, c & 0xff, rm)),
    });
  }
};

// --------------------------------------------------------- multiply/divide

const MUL_FX = fx(CF | OF, SF | ZF | AF | PF, ['mulFlags']);

const mulT: Template = (b) => {
  const r = b.rng;
  const size = b.size();
  const form = r.int(size === 8 ? 1 : 4);
  if (form === 0) {
    const imul = r.bool(0.5);
    if ((b.protectedRegs & (bit(EAX) | bit(EDX))) !== 0) throw new Reject('protected');
    const rm = b.rm(size, false);
    b.op({
      size, opcode: [0xf6 + w1(size)], rm, regField: imul ? 5 : 4, reads: bit(EAX),
      writes: bit(EAX) | (size === 8 ? 0 : bit(EDX)), effect: MUL_FX,
    });
  } else if (form === 1) {
    const reg = b.reg(size, true);
    const rm = b.rm(size, false);
    b.op({ size, opcode: [0x0f, 0xaf], rm, regField: reg, reads: bit(reg), writes: bit(reg), effect: MUL_FX });
  } else {
    const reg = b.reg(size, true);
    const rm = b.rm(size, false);
    const imm8 = form === 3;
    b.op({
      size, opcode: [imm8 ? 0x6b : 0x69], rm, regField: reg, writes: bit(reg),
      imm: [imm8 ? [b.value(8), 1] : immFor(b, size)], effect: MUL_FX,
    });
  }
};

function randBig(b: Builder, bits: number): bigint {
  let v = 0n;
  for (let i = 0; i < bits; i += 32) v = (v << 32n) | BigInt(b.rng.u32());
  const edge = [0n, 1n, 2n, (1n << BigInt(bits)) - 1n, 1n << BigInt(bits - 1), (1n << BigInt(bits - 1)) - 1n];
  if (b.rng.bool(0.3)) v = b.rng.pick(edge);
  if (b.rng.bool(0.3)) v &= (1n << BigInt(b.rng.int(bits) + 1)) - 1n;
  return BigInt.asUintN(bits, v);
}

const divT: Template = (b) => {
  const r = b.rng;
  const signed = r.bool(0.5);
  const size = b.size();
  const n = BigInt(size);
  if ((b.protectedRegs & (bit(EAX) | bit(EDX))) !== 0) throw new Reject('protected');
  const scen = r.int(10);
  let d: bigint; // divisor, n-bit pattern
  let dividend: bigint; // 2n-bit pattern
  const half = 1n << (n - 1n);
  if (scen === 0) {
    d = 0n;
    dividend = randBig(b, size * 2);
  } else if (!signed) {
    d = randBig(b, size);
    if (d === 0n) d = 1n;
    if (scen <= 2) {
      let hi = randBig(b, size);
      if (hi < d) hi = d + (hi % ((1n << n) - d));
      dividend = (hi << n) | randBig(b, size);
    } else {
      const q = randBig(b, size);
      const rem = randBig(b, size) % d;
      dividend = q * d + rem;
    }
  } else {
    let ds = BigInt.asIntN(size, randBig(b, size));
    if (ds === 0n) ds = r.bool(0.5) ? 1n : -1n;
    if (scen === 1) {
      ds = -1n;
      dividend = BigInt.asUintN(size * 2, -(1n << (2n * n - 1n)));
    } else if (scen === 2) {
      const qOver = r.bool(0.5) ? half : -half - 1n - BigInt(r.int(3));
      dividend = BigInt.asUintN(size * 2, qOver * ds);
    } else {
      let q = BigInt.asIntN(size, randBig(b, size));
      if (r.bool(0.1)) q = -half;
      const ad = ds < 0n ? -ds : ds;
      let rem = randBig(b, size) % ad;
      const prod = q * ds;
      if (prod < 0n || (prod === 0n && r.bool(0.5))) rem = -rem;
      dividend = BigInt.asUintN(size * 2, prod + rem);
    }
    d = BigInt.asUintN(size, ds);
  }
  const lo = Number(dividend & ((1n << n) - 1n));
  const hi = Number(dividend >> n);
  tryPins(() => {
    if (size === 8) b.pinPart(EAX, 16, Number(dividend));
    else {
      b.pinPart(EAX, size, lo);
      b.pinPart(EDX, size, hi);
    }
  });
  const rm = b.rm(size, false, 0.45, bit(EAX) | bit(EDX));
  if (rm.kind === 'reg') tryPins(() => b.pinPart(rm.reg, size, Number(d)));
  else b.setMem(rm.addr, bytesOf(size), d);
  b.op({
    size, opcode: [0xf6 + w1(size)], rm, regField: signed ? 7 : 6, reads: bit(EAX) | (size === 8 ? 0 : bit(EDX)),
    writes: bit(EAX) | (size === 8 ? 0 : bit(EDX)), effect: fx(0, ARITH, ['divFlags']),
  });
};

// ---------------------------------------------------------- bit operations

const BT_FX = fx(CF, OF | SF | AF | PF, ['btFlags']);

const btT: Template = (b) => {
  const r = b.rng;
  const kind = r.int(4); // BT BTS BTR BTC
  const size: Size = r.bool(0.35) ? 16 : 32;
  const write = kind !== 0;
  const form = r.int(3);
  if (form === 0) {
    // 0F BA /4..7 ib
    const rm = b.rm(size, write);
    b.op({
      size, opcode: [0x0f, 0xba], rm, regField: 4 + kind, rmWrite: write, imm: [[b.count(), 1]], effect: BT_FX,
      lock: write && rm.kind === 'mem' && r.bool(0.2),
    });
    return;
  }
  const opc = [0xa3, 0xab, 0xb3, 0xbb][kind]!;
  if (form === 1) {
    const rm: Operand = { kind: 'reg', reg: b.reg(size, write) };
    const reg = b.reg(size, false);
    b.op({ size, opcode: [0x0f, opc], rm, regField: reg, rmWrite: write, reads: bit(reg), effect: BT_FX });
    return;
  }
  // Memory with a register bit offset (may be negative / far): keep the accessed unit in the window.
  const bytes = bytesOf(size);
  const m = b.mem(bytes, { write });
  const unitBits = size;
  let offReg = -1;
  for (let tries = 0; tries < 8 && offReg < 0; tries++) {
    const cand = r.int(8);
    if (cand === ESP || (m.regsUsed & bit(cand)) !== 0 || !b.isFree(cand)) continue;
    offReg = cand;
  }
  if (offReg < 0) throw new Reject('no offset register');
  const loUnit = Math.ceil((DATA_WIN - m.addr) / bytes);
  const hiUnit = Math.floor((DATA_WIN + DATA_WIN_LEN - bytes - m.addr) / bytes);
  const unit = r.range(loUnit, hiUnit);
  const bitOff = unit * unitBits + r.int(unitBits);
  b.pinPart(offReg, size, bitOff & maskOf(size));
  b.op({
    size, opcode: [0x0f, opc], rm: m, regField: offReg, rmWrite: write, reads: bit(offReg), pinnedUse: bit(offReg),
    effect: BT_FX, lock: write && r.bool(0.2),
  });
};

const bsfT: Template = (b) => {
  const r = b.rng;
  const size: Size = r.bool(0.35) ? 16 : 32;
  const rev = r.bool(0.5);
  const reg = b.reg(size, true);
  const rm = b.rm(size, false);
  if (r.bool(0.25)) {
    if (rm.kind === 'mem') b.setMem(rm.addr, bytesOf(size), 0);
    else tryPins(() => b.pinPart(rm.reg, size, 0));
  } else if (r.bool(0.3) && rm.kind === 'mem') {
    b.setMem(rm.addr, bytesOf(size), 1 << r.int(size));
  }
  const dest: Operand = { kind: 'reg', reg };
  b.op({
    size, opcode: [0x0f, rev ? 0xbd : 0xbc], rm, regField: reg, reads: bit(reg), writes: bit(reg),
    effect: (k) => {
      const base = fx(ZF, CF | OF | SF | AF | PF, ['bsfFlags']);
      const v = operandValue(k, rm, size);
      if (v !== undefined && v !== 0) return base;
      return { ...base, ...undefDest(dest, size), rules: ['bsfFlags', 'bsfZeroDest'] };
    },
  });
};

const bswapT: Template = (b) => {
  const reg = b.reg(32, true);
  if (b.rng.bool(0.1)) {
    b.op({ size: 16, opcode: [0x0f, 0xc8 + reg], reads: bit(reg), writes: bit(reg), effect: { def: 0, undef: 0, regUndef: [[reg, 0xffff]], rules: ['bswap16'] } });
  } else {
    b.op({ opcode: [0x0f, 0xc8 + reg], reads: bit(reg), writes: bit(reg) });
  }
};

// ------------------------------------------------------ exchange & compare

const xaddT: Template = (b) => {
  const size = b.size();
  const rm = b.rm(size, true, 0.5);
  const reg = b.reg(size, true);
  b.op({
    size, opcode: [0x0f, 0xc0 + w1(size)], rm, regField: reg, rmWrite: true, reads: bit(full(reg, size)),
    writes: bit(full(reg, size)), effect: ARITH_FX, lock: rm.kind === 'mem' && b.rng.bool(0.3),
  });
};

const cmpxchgT: Template = (b) => {
  const r = b.rng;
  const size = b.size();
  if ((b.protectedRegs & bit(EAX)) !== 0) throw new Reject('protected');
  const rm = b.rm(size, true, 0.5);
  const reg = b.reg(size, false);
  if (r.bool(0.5)) {
    if (rm.kind === 'mem') {
      const acc = b.known(EAX);
      if (acc !== undefined) { b.pin(EAX, acc); b.setMem(rm.addr, bytesOf(size), acc & maskOf(size)); }
    } else {
      const v = b.value(size);
      tryPins(() => { b.pinPart(rm.reg, size, v); b.pinPart(EAX, size, v); });
    }
  }
  b.op({
    size, opcode: [0x0f, 0xb0 + w1(size)], rm, regField: reg, rmWrite: true, reads: bit(full(reg, size)) | bit(EAX),
    writes: bit(EAX), effect: ARITH_FX, lock: rm.kind === 'mem' && r.bool(0.3),
  });
};

const cmpxchg8bT: Template = (b) => {
  const r = b.rng;
  if ((b.protectedRegs & (bit(EAX) | bit(EDX))) !== 0) throw new Reject('protected');
  const m = b.mem(8, { write: true });
  if (r.bool(0.5)) {
    const lo = b.known(EAX);
    const hi = b.known(EDX);
    if (lo !== undefined && hi !== undefined) {
      b.pin(EAX, lo);
      b.pin(EDX, hi);
      b.setMem(m.addr, 8, (BigInt(hi) << 32n) | BigInt(lo));
    }
  }
  b.op({
    opcode: [0x0f, 0xc7], rm: m, regField: 1, rmWrite: true, reads: bit(EAX) | bit(EBX) | bit(ECX) | bit(EDX),
    writes: bit(EAX) | bit(EDX), effect: fx(ZF), lock: r.bool(0.3),
  });
};

const xchgT: Template = (b) => {
  const r = b.rng;
  const size = b.size();
  if (size !== 8 && r.bool(0.3)) {
    const reg = b.reg(size, true);
    if ((b.protectedRegs & bit(EAX)) !== 0) throw new Reject('protected');
    b.op({ size, opcode: [0x90 + reg], reads: bit(EAX) | bit(reg), writes: bit(EAX) | bit(reg) });
    return;
  }
  const rm = b.rm(size, true, 0.5);
  const reg = b.reg(size, true);
  b.op({
    size, opcode: [0x86 + w1(size)], rm, regField: reg, rmWrite: true, reads: bit(full(reg, size)), writes: bit(full(reg, size)),
    lock: rm.kind === 'mem' && r.bool(0.2),
  });
};

// ------------------------------------------------------ conditional ops

const cmovT: Template = (b) => {
  const cc = b.rng.int(16);
  const size: Size = b.rng.bool(0.35) ? 16 : 32;
  const reg = b.reg(size, true);
  const rm = b.rm(size, false);
  b.op({ size, opcode: [0x0f, 0x40 + cc], rm, regField: reg, reads: bit(reg), writes: bit(reg), flagsRead: CC_FLAGS[cc]! });
};

const setccT: Template = (b) => {
  const cc = b.rng.int(16);
  const rm = b.rm(8, true);
  // The reg field is ignored by real CPUs; mostly 0.
  b.op({ rmSize: 8, opcode: [0x0f, 0x90 + cc], rm, regField: b.rng.bool(0.1) ? b.rng.int(8) : 0, rmRead: false, rmWrite: true, flagsRead: CC_FLAGS[cc]! });
};

/** Forward Jcc/JMP/JECXZ/LOOPcc skipping 0..3 following instructions. */
const jccT: Template = (b) => {
  const r = b.rng;
  const i = b.insns.length;
  const target = i + 1 + (r.bool(0.2) ? 0 : r.int(4));
  const kind = r.int(10);
  if (kind <= 4) {
    const cc = r.int(16);
    const near = r.bool(0.35);
    b.emit({ bytes: near ? [0x0f, 0x80 + cc] : [0x70 + cc], branch: { target, relBytes: near ? 4 : 1, conditional: true }, flagsRead: CC_FLAGS[cc]! });
  } else if (kind === 5) {
    const near = r.bool(0.4);
    b.emit({ bytes: [near ? 0xe9 : 0xeb], branch: { target, relBytes: near ? 4 : 1, conditional: false }, noFallthrough: true });
  } else if (kind === 6) {
    if (r.bool(0.5) && b.isFree(ECX)) tryPins(() => b.pinPart(ECX, r.bool(0.5) ? 32 : 16, r.bool(0.5) ? 0 : b.value32()));
    const cx = r.bool(0.2);
    b.emit({ bytes: cx ? [0x67, 0xe3] : [0xe3], branch: { target, relBytes: 1, conditional: true }, reads: bit(ECX) });
  } else {
    if ((b.protectedRegs & bit(ECX)) !== 0) throw new Reject('protected');
    const op = r.pick([0xe0, 0xe1, 0xe2]);
    b.emit({
      bytes: r.bool(0.15) ? [0x67, op] : [op], branch: { target, relBytes: 1, conditional: true }, reads: bit(ECX), writes: bit(ECX),
      flagsRead: op === 0xe2 ? 0 : ZF,
    });
  }
};

// ------------------------------------------------------------- loops

const LOOP_BODY: Array<[number, Template]> = [];

const loopT: Template = (b) => {
  const r = b.rng;
  if (!b.isFree(ECX) || (b.protectedRegs & bit(ECX)) !== 0) throw new Reject('ecx busy');
  const cx16 = r.bool(0.15);
  const n = r.range(1, 12);
  if (cx16) b.pinPart(ECX, 16, n);
  else b.pin(ECX, n);
  b.protectedRegs |= bit(ECX);
  const start = b.insns.length;
  const bodyLen = r.range(1, 3);
  for (let k = 0; k < bodyLen; k++) pickTemplate(b, LOOP_BODY)(b);
  const kind = r.int(5);
  if (kind <= 2) {
    const op = [0xe2, 0xe1, 0xe0][kind]!;
    b.emit({ bytes: cx16 ? [0x67, op] : [op], branch: { target: start, relBytes: 1, conditional: true }, reads: bit(ECX), writes: bit(ECX), flagsRead: op === 0xe2 ? 0 : ZF });
  } else {
    // dec ecx / sub ecx,1 ; jnz / jne near (CX when the count was pinned as 16 bits)
    const size: Size = cx16 ? 16 : 32;
    if (kind === 3) b.op({ size, opcode: [0x49], reads: bit(ECX), writes: bit(ECX), effect: fx(OF | SF | ZF | AF | PF) });
    else b.op({ size, opcode: [0x83], rm: { kind: 'reg', reg: ECX }, regField: 5, rmWrite: true, imm: [[1, 1]], effect: ARITH_FX });
    const near = r.bool(0.3);
    b.emit({ bytes: near ? [0x0f, 0x85] : [0x75], branch: { target: start, relBytes: near ? 4 : 1, conditional: true }, flagsRead: ZF });
  }
  b.protectedRegs &= ~bit(ECX);
};

// ----------------------------------------------------------------- BCD

const bcdT: Template = (b) => {
  const r = b.rng;
  if ((b.protectedRegs & bit(EAX)) !== 0) throw new Reject('protected');
  if (b.isFree(EAX) && r.bool(0.6)) {
    const digits = () => r.int(10) * 16 + r.int(10);
    tryPins(() => b.pinPart(EAX, 16, r.bool(0.5) ? digits() | (digits() << 8) : r.int(0x10000)));
  }
  const kind = r.int(6);
  if (kind <= 1) {
    b.op({ opcode: [kind === 0 ? 0x27 : 0x2f], reads: bit(EAX), writes: bit(EAX), flagsRead: AF | CF, effect: fx(CF | AF | SF | ZF | PF, OF, ['daaOf']) });
  } else if (kind <= 3) {
    b.op({ opcode: [kind === 2 ? 0x37 : 0x3f], reads: bit(EAX), writes: bit(EAX), flagsRead: AF, effect: fx(AF | CF, OF | SF | ZF | PF, ['aaaFlags']) });
  } else {
    const imm = r.bool(0.5) ? 10 : r.bool(0.06) ? 0 : r.int(256);
    b.op({ opcode: [kind === 4 ? 0xd4 : 0xd5], imm: [[imm, 1]], reads: bit(EAX), writes: bit(EAX), effect: fx(SF | ZF | PF, OF | AF | CF, ['aamFlags']) });
  }
};

/** ADD/ADC/SUB/SBB on AL: the usual companion of the BCD adjusts. */
const aluAlT: Template = (b) => {
  const r = b.rng;
  const op = r.pick([0, 2, 3, 5]);
  if ((b.protectedRegs & bit(EAX)) !== 0) throw new Reject('protected');
  const v = r.bool(0.5) ? r.int(10) * 16 + r.int(10) : r.int(256);
  if (r.bool(0.5)) b.op({ opcode: [op * 8 + 4], imm: [[v, 1]], reads: bit(EAX), writes: bit(EAX), flagsRead: op === 2 || op === 3 ? CF : 0, effect: ARITH_FX });
  else {
    const rm = b.rm(8, false, 0.4, bit(EAX));
    b.op({ size: 8, opcode: [op * 8 + 2], rm, regField: 0, reads: bit(EAX), writes: bit(EAX), flagsRead: op === 2 || op === 3 ? CF : 0, effect: ARITH_FX });
  }
};

// ------------------------------------------------------ moves & converts

const convertT: Template = (b) => {
  const r = b.rng;
  const k = r.int(4);
  if ((b.protectedRegs & (bit(EAX) | bit(EDX))) !== 0) throw new Reject('protected');
  const size: Size = k % 2 === 0 ? 32 : 16;
  const cwd = k >= 2;
  b.op({ size, opcode: [cwd ? 0x99 : 0x98], reads: bit(EAX), writes: cwd ? bit(EDX) : bit(EAX) });
};

const movxT: Template = (b) => {
  const r = b.rng;
  const signed = r.bool(0.5);
  const src16 = r.bool(0.4);
  const dst16 = r.bool(0.25);
  const reg = b.reg(dst16 ? 16 : 32, true);
  const rm = b.rm(src16 ? 16 : 8, false);
  b.op({ size: dst16 ? 16 : 32, rmSize: src16 ? 16 : 8, opcode: [0x0f, (signed ? 0xbe : 0xb6) + (src16 ? 1 : 0)], rm, regField: reg, writes: bit(reg) });
};

const movT: Template = (b) => {
  const r = b.rng;
  const size = b.size();
  const form = r.int(7);
  if (form === 0) {
    const rm = b.rm(size, true);
    const reg = b.reg(size, false);
    b.op({ size, opcode: [0x88 + w1(size)], rm, regField: reg, rmRead: false, rmWrite: true, reads: bit(full(reg, size)) });
  } else if (form === 1) {
    const reg = b.reg(size, true);
    const rm = b.rm(size, false);
    b.op({ size, opcode: [0x8a + w1(size)], rm, regField: reg, writes: bit(full(reg, size)) });
  } else if (form === 2) {
    const reg = b.reg(size, true);
    b.op({ size, opcode: [(size === 8 ? 0xb0 : 0xb8) + reg], imm: [immFor(b, size)], writes: bit(full(reg, size)) });
  } else if (form === 3) {
    const rm = b.rm(size, true);
    b.op({ size, opcode: [0xc6 + w1(size)], rm, regField: 0, rmRead: false, rmWrite: true, imm: [immFor(b, size)] });
  } else if (form === 4) {
    // moffs forms A0-A3
    if ((b.protectedRegs & bit(EAX)) !== 0) throw new Reject('protected');
    const store = r.bool(0.5);
    const addr = b.pickAddr(bytesOf(size));
    const seg = r.bool(0.2) ? r.pick(store ? [0x26, 0x36] : [0x26, 0x2e, 0x36]) : 0;
    b.op({
      size, opcode: [(store ? 0xa2 : 0xa0) + w1(size)], imm: [[addr, 4]], prefixes: seg ? [seg] : [],
      reads: store ? bit(EAX) : 0, writes: store ? 0 : bit(EAX), memRead: !store, memWrite: store,
    });
  } else if (form === 5) {
    // MOV r/m, Sreg (ES CS SS DS FS GS = 0..5)
    const sreg = r.int(6);
    const rm = b.rm(r.bool(0.3) ? 16 : 32, true, 0.3);
    b.op({ size: rm.kind === 'reg' && r.bool(0.3) ? 16 : undefined, opcode: [0x8c], rm, regField: sreg, rmRead: false, rmWrite: true });
  } else {
    // MOV r/m, r with the same register on both sides and mixed sizes
    const reg = b.reg(size, true);
    b.op({ size, opcode: [0x8a + w1(size)], rm: { kind: 'reg', reg: b.reg(size, false) }, regField: reg, writes: bit(full(reg, size)) });
  }
};

/** LEA with random ModRM/SIB forms (no memory access), 32- and 16-bit addressing. */
const leaT: Template = (b) => {
  const r = b.rng;
  const dst16 = r.bool(0.25);
  const reg = b.reg(dst16 ? 16 : 32, true);
  const a16 = r.bool(0.3);
  const mod = r.int(3);
  const rm = r.int(8);
  const bytes: number[] = [];
  let reads = 0;
  const modrm = (m: number, rmv: number): number => (m << 6) | (reg << 3) | rmv;
  if (a16) {
    const RM16 = [bit(EBX) | bit(ESI), bit(EBX) | bit(EDI), bit(EBP) | bit(ESI), bit(EBP) | bit(EDI), bit(ESI), bit(EDI), bit(EBP), bit(EBX)];
    bytes.push(0x67, 0x8d, modrm(mod, rm));
    if (mod === 0 && rm === 6) bytes.push(...le(r.u32(), 2));
    else {
      reads = RM16[rm]!;
      if (mod === 1) bytes.push(r.int(256));
      if (mod === 2) bytes.push(...le(r.u32(), 2));
    }
  } else {
    bytes.push(0x8d, modrm(mod, rm));
    if (rm === 4) {
      const ss = r.int(4), idx = r.int(8), base = r.int(8);
      bytes.push((ss << 6) | (idx << 3) | base);
      if (idx !== 4) reads |= bit(idx);
      if (base === 5 && mod === 0) bytes.push(...le(r.u32(), 4));
      else reads |= bit(base);
    } else if (rm === 5 && mod === 0) {
      bytes.push(...le(r.u32(), 4));
    } else reads |= bit(rm);
    if (mod === 1) bytes.push(r.int(256));
    if (mod === 2) bytes.push(...le(r.bool(0.5) ? r.u32() : b.value32(), 4));
  }
  if (dst16) bytes.unshift(0x66);
  b.emit({ bytes, reads, writes: bit(reg) });
};

// ------------------------------------------------------------- stack

function needEsp(b: Builder, need: number): number {
  if (b.espDelta === undefined) throw new Reject('esp unknown');
  const d = b.espDelta;
  if (d - need < -0x78 || d + need > 0x78) throw new Reject('stack window');
  return d;
}

const pushPopT: Template = (b) => {
  const r = b.rng;
  const d = needEsp(b, 8);
  const esp = INITIAL_ESP + d;
  const size: Size = r.bool(0.2) ? 16 : 32;
  const n = bytesOf(size);
  const kind = r.int(9);
  const common = { reads: bit(ESP), keepsEspKnown: true as const };
  if (kind === 0) {
    const reg = r.int(8);
    b.op({ ...common, size, opcode: [0x50 + reg], reads: bit(ESP) | bit(reg), writes: bit(ESP), memWrite: true });
    b.espDelta = d - n;
  } else if (kind === 1) {
    b.op({ ...common, size, opcode: [0x6a], imm: [[b.value(8), 1]], writes: bit(ESP), memWrite: true });
    b.espDelta = d - n;
  } else if (kind === 2) {
    b.op({ ...common, size, opcode: [0x68], imm: [immFor(b, size)], writes: bit(ESP), memWrite: true });
    b.espDelta = d - n;
  } else if (kind === 3) {
    const m = b.mem(n, { region: r.bool(0.3) ? 'stack' : 'data' });
    b.op({ ...common, size, opcode: [0xff], rm: m, regField: 6, writes: bit(ESP), memWrite: true });
    b.espDelta = d - n;
  } else if (kind === 4) {
    // PUSH Sreg: 06 ES, 0E CS, 16 SS, 1E DS, 0F A0 FS, 0F A8 GS
    const s = r.int(6);
    const opcode = s < 4 ? [[0x06, 0x0e, 0x16, 0x1e][s]!] : [0x0f, s === 4 ? 0xa0 : 0xa8];
    const slot = esp - n;
    b.op({
      ...common, size, opcode, writes: bit(ESP), memWrite: true,
      effect: size === 32 ? { def: 0, undef: 0, memUndef: [[slot + 2, 2]], rules: ['pushSregHigh'] } : NO_FX,
    });
    b.espDelta = d - n;
  } else if (kind <= 6) {
    let reg = r.int(8);
    if ((b.protectedRegs & ~bit(ESP) & bit(reg)) !== 0) throw new Reject('protected');
    if (reg === ESP && r.bool(0.7)) reg = EBX;
    b.op({ ...common, size, opcode: [0x58 + reg], writes: bit(ESP) | bit(reg), memRead: true });
    b.espDelta = reg === ESP ? undefined : d + n;
  } else if (kind === 7) {
    // POP r/m: with an ESP base the address is computed after the increment.
    b.espDelta = d + n;
    const m = b.mem(n, { region: r.bool(0.3) ? 'stack' : 'data', write: true });
    b.espDelta = d;
    b.op({ ...common, size, opcode: [0x8f], rm: m, regField: 0, rmRead: false, rmWrite: true, writes: bit(ESP), memRead: true });
    b.espDelta = d + n;
  } else {
    // PUSH ESP / PUSH [ESP+x]
    b.op({ ...common, size, opcode: [0x54], writes: bit(ESP), memWrite: true });
    b.espDelta = d - n;
  }
};

/** PUSHF / POPF (and PUSH imm; POPF to control the image). */
const pushfPopfT: Template = (b) => {
  const r = b.rng;
  const d = needEsp(b, 8);
  const size: Size = r.bool(0.2) ? 16 : 32;
  const n = bytesOf(size);
  const kind = r.int(3);
  if (kind === 0) {
    b.op({ size, opcode: [0x9c], reads: bit(ESP), writes: bit(ESP), memWrite: true, flagsRead: ARITH, keepsEspKnown: true });
    b.espDelta = d - n;
    return;
  }
  // The image: anything but TF; AC now and then (Linux runs with CR0.AM = 1).
  let image = r.u32() & ~TF;
  if (!r.bool(0.15)) image &= ~AC;
  if (r.bool(0.3)) image &= 0xfff;
  let delta = d;
  if (kind === 1) {
    // PUSH imm32/imm16 then POPF
    b.op({ size, opcode: [0x68], imm: [[image, n]], reads: bit(ESP), writes: bit(ESP), memWrite: true, keepsEspKnown: true });
    delta = d - n;
  } else {
    if (b.memWrittenSoFar) throw new Reject('stack may hold anything');
    b.setMem(INITIAL_ESP + d, n, image);
  }
  b.op({ size, opcode: [0x9d], reads: bit(ESP), writes: bit(ESP), memRead: true, effect: fx(ARITH), keepsEspKnown: true });
  b.espDelta = delta + n;
  b.df = (image & DF) !== 0 ? 1 : 0;
};

const pushaT: Template = (b) => {
  const r = b.rng;
  const size: Size = r.bool(0.25) ? 16 : 32;
  const n = bytesOf(size) * 8;
  const d = needEsp(b, n);
  if (r.bool(0.5)) {
    b.op({ size, opcode: [0x60], reads: 0xff, writes: bit(ESP), memWrite: true, keepsEspKnown: true });
    b.espDelta = d - n;
  } else {
    if ((b.protectedRegs & ~bit(ESP)) !== 0) throw new Reject('protected');
    b.op({ size, opcode: [0x61], reads: bit(ESP), writes: 0xff, memRead: true, keepsEspKnown: true });
    b.espDelta = d + n;
  }
};

const enterLeaveT: Template = (b) => {
  const r = b.rng;
  const size: Size = r.bool(0.2) ? 16 : 32;
  const n = bytesOf(size);
  const kind = r.int(3);
  if ((b.protectedRegs & bit(EBP)) !== 0) throw new Reject('protected');
  if (kind === 2) {
    // LEAVE with EBP pinned into a window.
    if (!b.isFree(EBP)) throw new Reject('ebp written');
    const inStack = r.bool(0.7);
    const ebp = inStack ? STACK_WIN + 0x40 + r.int(0x80) : DATA_WIN + r.int(DATA_WIN_LEN - 4);
    if (!b.canPin(EBP, ebp)) throw new Reject('ebp pinned');
    b.pin(EBP, ebp);
    b.op({ size, opcode: [0xc9], reads: bit(EBP) | bit(ESP), writes: bit(EBP) | bit(ESP), pinnedUse: bit(EBP), memRead: true, keepsEspKnown: inStack });
    b.espDelta = inStack ? ebp + n - INITIAL_ESP : undefined;
    return;
  }
  const levelRaw = r.pick([0, 0, 1, 1, 2, 3, 4, 32, 33]);
  const level = levelRaw & 31;
  const alloc = r.bool(0.6) ? r.int(0x20) : r.bool(0.5) ? r.int(0x10000) : 0;
  const d = needEsp(b, n * (level + 2));
  if (level >= 2) {
    // Frame pointers are copied from [EBP - n*i]: keep them in a window.
    if (!b.isFree(EBP)) throw new Reject('ebp written');
    const inStack = r.bool(0.5);
    const ebp = inStack ? STACK_WIN + 0x80 + r.int(0x70) : DATA_WIN + 0x40 + r.int(0xb0);
    if (!b.canPin(EBP, ebp)) throw new Reject('ebp pinned');
    b.pin(EBP, ebp);
  }
  b.op({
    size, opcode: [0xc8], imm: [[alloc, 2], [levelRaw, 1]], reads: bit(EBP) | bit(ESP), writes: bit(EBP) | bit(ESP),
    pinnedUse: level >= 2 ? bit(EBP) : 0, memRead: level >= 2, memWrite: true, keepsEspKnown: true,
  });
  const pushed = n + (level > 0 ? n * level : 0);
  b.espDelta = d - pushed - alloc;
  if (b.espDelta < -0x70) b.espDelta = undefined;
  if (kind === 1 && size === 32) {
    // ... LEAVE right away: back to the original ESP, EBP restored from the frame.
    b.espDelta = undefined;
    b.op({ size, opcode: [0xc9], reads: bit(EBP) | bit(ESP), writes: bit(EBP) | bit(ESP), memRead: true, keepsEspKnown: true });
    b.espDelta = d;
  }
};

/** CALL/RET/JMP forms with absolute targets patched after layout. */
const callRetT: Template = (b) => {
  const r = b.rng;
  const d = needEsp(b, 16);
  const kind = r.int(7);
  const i = b.insns.length;
  const skip = r.int(3);
  const target = i + 1 + skip;
  if (kind === 0) {
    // CALL rel32 forward: the return address stays on the stack.
    b.emit({ bytes: [0xe8], branch: { target, relBytes: 4, conditional: false }, noFallthrough: true, reads: bit(ESP), writes: bit(ESP), memWrite: true, keepsEspKnown: true });
    b.espDelta = d - 4;
  } else if (kind === 1 || kind === 2) {
    // PUSH target ; RET [imm16]
    const retImm = kind === 2 ? r.pick([0, 4, 8, 12, 0x10]) : -1;
    const p = b.emit({ bytes: [0x68, 0, 0, 0, 0], reads: bit(ESP), writes: bit(ESP), memWrite: true, keepsEspKnown: true });
    const t = p + 2 + skip;
    b.insns[p]!.fixup = (lay) => lay.patch32(p, 1, lay.indirectTargetOf(p + 1));
    b.emit({
      bytes: retImm < 0 ? [0xc3] : [0xc2, ...le(retImm, 2)], indirect: { target: t }, noFallthrough: true,
      reads: bit(ESP), writes: bit(ESP), memRead: true, keepsEspKnown: true, landing: false,
    });
    b.espDelta = d + (retImm < 0 ? 0 : retImm);
  } else if (kind === 3 || kind === 4) {
    // JMP/CALL reg
    const call = kind === 4;
    const reg = r.int(8);
    if (reg === ESP || !b.isFree(reg) || (b.pinned & bit(reg)) !== 0 || (b.protectedRegs & bit(reg)) !== 0) throw new Reject('reg');
    b.pin(reg, 0);
    const k = b.emit({
      bytes: [0xff, 0xc0 | ((call ? 2 : 4) << 3) | reg], indirect: { target }, noFallthrough: true, reads: bit(reg) | (call ? bit(ESP) : 0),
      writes: call ? bit(ESP) : 0, memWrite: call, pinnedUse: bit(reg), keepsEspKnown: true,
    });
    b.insns[k]!.fixup = (lay) => { b.regs[reg] = lay.indirectTargetOf(k); };
    // Its input value is only known after layout: keep later templates from relying on it.
    b.writtenSoFar |= bit(reg);
    if (call) b.espDelta = d - 4;
  } else if (kind === 5) {
    // JMP/CALL [mem] (the pointer must not have been overwritten before)
    if (b.memWrittenSoFar) throw new Reject('memory written');
    const call = r.bool(0.5);
    const m = b.mem(4, {});
    const k = b.op({
      opcode: [0xff], rm: m, regField: call ? 2 : 4, reads: call ? bit(ESP) : 0, writes: call ? bit(ESP) : 0, memWrite: call, keepsEspKnown: true,
    });
    const ins = b.insns[k]!;
    ins.indirect = { target };
    ins.noFallthrough = true;
    ins.fixup = (lay) => b.setMem(m.addr, 4, lay.indirectTargetOf(k), k);
    if (call) b.espDelta = d - 4;
  } else {
    // CALL next ; POP reg (the classic get-EIP idiom)
    b.emit({ bytes: [0xe8], branch: { target: i + 1, relBytes: 4, conditional: false }, noFallthrough: true, reads: bit(ESP), writes: bit(ESP), memWrite: true, keepsEspKnown: true });
    const reg = b.reg(32, true);
    if (reg === ESP) throw new Reject('pop esp');
    b.op({ opcode: [0x58 + reg], reads: bit(ESP), writes: bit(ESP) | bit(reg), memRead: true, keepsEspKnown: true });
    b.espDelta = d;
  }
};

/** Far JMP/CALL/RETF/IRET to the flat user code selector (0x23, or RPL-0 0x20). */
const farT: Template = (b) => {
  const r = b.rng;
  const d = needEsp(b, 24);
  const kind = r.int(5);
  const i = b.insns.length;
  const skip = r.int(3);
  const sel = r.pick([0x23, 0x23, 0x20, 0x2b, 0x00]); // 0x2b: data segment -> #GP; 0: null -> #GP
  const selOk = sel === 0x23 || sel === 0x20;
  if (kind <= 1) {
    // JMP/CALL ptr16:32 (EA / 9A)
    const call = kind === 1;
    const t = i + 1 + skip;
    const k = b.emit({
      bytes: [call ? 0x9a : 0xea, 0, 0, 0, 0, ...le(sel, 2)], indirect: { target: t }, noFallthrough: selOk,
      reads: call ? bit(ESP) : 0, writes: call ? bit(ESP) : 0, memWrite: call, keepsEspKnown: true,
    });
    b.insns[k]!.fixup = (lay) => lay.patch32(k, 1, lay.indirectTargetOf(k));
    if (call) b.espDelta = d - 8;
  } else if (kind === 2) {
    // JMP/CALL m16:32 (FF /5, FF /3)
    if (b.memWrittenSoFar) throw new Reject('memory written');
    const call = r.bool(0.5);
    const t = i + 1 + skip;
    const m = b.mem(6, {});
    b.setMem(m.addr + 4, 2, sel);
    const k = b.op({ opcode: [0xff], rm: m, regField: call ? 3 : 5, reads: call ? bit(ESP) : 0, writes: call ? bit(ESP) : 0, memWrite: call, keepsEspKnown: true });
    const ins = b.insns[k]!;
    ins.indirect = { target: t };
    ins.noFallthrough = selOk;
    ins.fixup = (lay) => b.setMem(m.addr, 4, lay.indirectTargetOf(k), k);
    if (call) b.espDelta = d - 8;
  } else {
    // PUSH sel ; PUSH target ; RETF [imm]  or  PUSHFD-ish image ; PUSH sel ; PUSH target ; IRET
    const iret = kind === 4;
    if (iret) {
      let image = (r.u32() & ~(TF | 0x4000)) | 0x2;
      if (!r.bool(0.15)) image &= ~AC;
      b.op({ opcode: [0x68], imm: [[image, 4]], reads: bit(ESP), writes: bit(ESP), memWrite: true, keepsEspKnown: true });
    }
    const s0 = b.op({ opcode: [0x68], imm: [[sel, 4]], reads: bit(ESP), writes: bit(ESP), memWrite: true, keepsEspKnown: true });
    if (iret) b.insns[s0]!.landing = false;
    const p = b.emit({ bytes: [0x68, 0, 0, 0, 0], reads: bit(ESP), writes: bit(ESP), memWrite: true, keepsEspKnown: true, landing: false });
    const t = p + 2 + skip;
    b.insns[p]!.fixup = (lay) => lay.patch32(p, 1, lay.indirectTargetOf(p + 1));
    const retImm = !iret && r.bool(0.3) ? r.pick([0, 4, 8]) : -1;
    b.emit({
      bytes: iret ? [0xcf] : retImm < 0 ? [0xcb] : [0xca, ...le(retImm, 2)], indirect: { target: t }, noFallthrough: selOk,
      reads: bit(ESP), writes: bit(ESP), memRead: true, keepsEspKnown: true, effect: iret ? fx(ARITH) : NO_FX, landing: false,
    });
    b.espDelta = d + (retImm > 0 ? retImm : 0);
    if (iret) b.df = undefined;
  }
};

// ------------------------------------------------------- segment loads

/**
 * Selectors whose descriptors are the same in Linux's GDT and the emulator's:
 * null (any RPL), 0x08/0x10/0x18 (DPL-0: #GP), 0x20-0x23 (flat user code,
 * readable), 0x28-0x2b (flat user data), beyond the GDT limit, and LDT
 * selectors (no LDT: #GP). Never 0x33 (64-bit code) or the TLS/per-CPU ones.
 */
function pickSelector(b: Builder): number {
  const r = b.rng;
  switch (r.int(8)) {
    case 0: case 1: case 2: return 0x2b;
    case 3: return r.pick([0x28, 0x29, 0x2a]);
    case 4: return r.pick([0x20, 0x21, 0x22, 0x23]);
    case 5: return r.int(4);
    case 6: return r.pick([0x08, 0x0b, 0x10, 0x13, 0x18, 0x1b]);
    default: return r.bool(0.5) ? 0x100 + r.int(0xff00) : (r.int(0x2000) << 3) | 4 | r.int(4);
  }
}

/** Segment register encodings for MOV/POP/override prefixes: ES CS SS DS FS GS. */
const SEG_PREFIX = [0x26, 0x2e, 0x36, 0x3e, 0x64, 0x65];

const segLoadT: Template = (b) => {
  const r = b.rng;
  let sreg = r.pick([0, 2, 3, 3, 4, 5, 5]);
  const sel = sreg === 2 && r.bool(0.6) ? 0x2b : pickSelector(b);
  const kind = r.int(3);
  if (kind === 0) {
    // MOV Sreg, r/m16 (8E /r); sreg 1 (CS) and 6/7 are #UD.
    if (r.bool(0.05)) sreg = r.pick([1, 6, 7]);
    // The selector must be exactly one of ours: Linux's other descriptors differ from the emulator's.
    const rm = b.rm(16, false, 0.4);
    if (rm.kind === 'reg') b.pinPart(rm.reg, 16, sel);
    else {
      if (b.memWrittenSoFar) throw new Reject('memory may have been overwritten');
      b.setMem(rm.addr, 2, sel);
    }
    b.op({ size: r.bool(0.2) ? 16 : undefined, opcode: [0x8e], rm, regField: sreg });
  } else if (kind === 1) {
    // POP Sreg: 07 ES, 17 SS, 1F DS, 0F A1 FS, 0F A9 GS.
    const d = needEsp(b, 8);
    if (b.memWrittenSoFar) throw new Reject('stack may hold anything');
    const size: Size = r.bool(0.2) ? 16 : 32;
    b.setMem(INITIAL_ESP + d, bytesOf(size), sel | (size === 32 ? r.u32() & 0xffff0000 : 0));
    const opcode = sreg === 0 ? [0x07] : sreg === 2 ? [0x17] : sreg === 3 ? [0x1f] : [0x0f, sreg === 4 ? 0xa1 : 0xa9];
    b.op({ size, opcode, reads: bit(ESP), writes: bit(ESP), memRead: true, keepsEspKnown: true });
    b.espDelta = d + bytesOf(size);
  } else {
    // LES/LDS (C4/C5, memory forms only), LSS/LFS/LGS (0F B2/B4/B5): register <- offset, Sreg <- selector.
    if (sreg === 3 && r.bool(0.5)) sreg = 0;
    const size: Size = r.bool(0.2) ? 16 : 32;
    const n = bytesOf(size);
    let reg = b.reg(size, true);
    if (sreg === 2 && r.bool(0.7)) {
      if (b.espDelta === undefined) throw new Reject('esp unknown');
      reg = ESP;
    }
    if (b.memWrittenSoFar) throw new Reject('memory may have been overwritten');
    const m = b.mem(n + 2, {});
    const off = reg === ESP ? INITIAL_ESP - 4 * r.int(16) : b.value(size);
    b.setMem(m.addr, n, off & maskOf(size));
    b.setMem(m.addr + n, 2, sel);
    const opcode = sreg === 0 ? [0xc4] : sreg === 3 ? [0xc5] : [0x0f, sreg === 2 ? 0xb2 : sreg === 4 ? 0xb4 : 0xb5];
    b.op({ size, opcode, rm: m, regField: reg, writes: bit(reg), keepsEspKnown: reg === ESP });
    if (reg === ESP) b.espDelta = size === 32 ? off - INITIAL_ESP : undefined;
  }
  b.loadedSegs |= 1 << sreg;
};

/** A memory access through a segment loaded earlier in the snippet (or DS/ES/SS/FS). */
const segUseT: Template = (b) => {
  const r = b.rng;
  const cands = [0, 2, 3, 4].concat((b.loadedSegs & (1 << 5)) !== 0 ? [5] : []);
  const sreg = r.pick(cands);
  const size = b.size();
  const write = r.bool(0.5);
  const m = { ...b.mem(bytesOf(size), { write, noSeg: true }), seg: SEG_PREFIX[sreg]! };
  const reg = b.reg(size, !write);
  if (write) b.op({ size, opcode: [0x88 + w1(size)], rm: m, regField: reg, rmRead: false, rmWrite: true, reads: bit(full(reg, size)) });
  else b.op({ size, opcode: [0x8a + w1(size)], rm: m, regField: reg, writes: bit(full(reg, size)) });
};

// --------------------------------------------------------------- strings

const stringT: Template = (b) => {
  const r = b.rng;
  if (r.bool(0.25)) {
    const std = r.bool(0.5);
    b.op({ opcode: [std ? 0xfd : 0xfc] });
    b.df = std ? 1 : 0;
  }
  const df = b.df;
  if (df === undefined) throw new Reject('df unknown');
  const kind = r.pick(['movs', 'cmps', 'scas', 'lods', 'stos'] as const);
  const size = b.size();
  const e = bytesOf(size);
  const repPick = r.int(10);
  const rep = repPick < 6 ? (kind === 'cmps' || kind === 'scas' ? (r.bool(0.5) ? 0xf3 : 0xf2) : r.bool(0.9) ? 0xf3 : 0xf2) : undefined;
  let count = 1;
  if (rep !== undefined) {
    if ((b.protectedRegs & bit(ECX)) !== 0) throw new Reject('protected');
    count = r.bool(0.1) ? 0 : r.range(1, 20);
    b.pin(ECX, count);
  }
  const span = Math.max(count, 1) * e;
  const place = (): number => {
    const stack = r.bool(0.2);
    const base = stack ? STACK_WIN : DATA_WIN;
    const len = stack ? STACK_WIN_LEN : DATA_WIN_LEN;
    return df === 0 ? base + r.int(len - span + 1) : base + span - e + r.int(len - span + 1);
  };
  const usesSrc = kind === 'movs' || kind === 'cmps' || kind === 'lods';
  const usesDst = kind === 'movs' || kind === 'cmps' || kind === 'scas' || kind === 'stos';
  let reads = 0, writes = 0, pinnedUse = 0;
  let src = 0, dst = 0;
  if (usesSrc) {
    src = place();
    b.pin(ESI, src);
    reads |= bit(ESI);
    writes |= bit(ESI);
    pinnedUse |= bit(ESI);
  }
  if (usesDst) {
    dst = place();
    if (kind === 'cmps' && r.bool(0.3)) dst = src; // identical strings
    b.pin(EDI, dst);
    reads |= bit(EDI);
    writes |= bit(EDI);
    pinnedUse |= bit(EDI);
  }
  if (kind === 'stos' || kind === 'scas') reads |= bit(EAX);
  if (kind === 'lods') {
    if ((b.protectedRegs & bit(EAX)) !== 0) throw new Reject('protected');
    writes |= bit(EAX);
  }
  // Make REPE/REPNE comparisons stop somewhere interesting.
  if (rep !== undefined && (kind === 'cmps' || kind === 'scas') && !b.memWrittenSoFar && count > 0) {
    const stopAt = r.int(count + 1);
    const step = df === 0 ? e : -e;
    const acc = b.known(EAX);
    if (kind === 'scas' && acc !== undefined) b.pin(EAX, acc);
    for (let k = 0; k < count; k++) {
      const want = rep === 0xf3 ? k < stopAt : k >= stopAt; // REPE: equal until stopAt
      const srcVal = kind === 'cmps' ? b.getMem(src + k * step, e) : (b.regs[EAX]! & maskOf(size)) >>> 0;
      const da = dst + k * step;
      if (kind === 'cmps' && da === src + k * step) continue;
      if (want) b.setMem(da, e, srcVal);
      else if (b.getMem(da, e) === srcVal) b.setMem(da, e, (srcVal ^ 1) & maskOf(size));
    }
  }
  if (rep !== undefined) { reads |= bit(ECX); writes |= bit(ECX); pinnedUse |= bit(ECX); }
  const seg = usesSrc && r.bool(0.25) ? r.pick([0x26, 0x2e, 0x36, 0x3e]) : 0;
  const opcode = { movs: 0xa4, cmps: 0xa6, scas: 0xae, lods: 0xac, stos: 0xaa }[kind] + w1(size);
  const compares = kind === 'cmps' || kind === 'scas';
  b.op({
    size, opcode: [opcode], rep, prefixes: seg ? [seg] : [], reads, writes, pinnedUse,
    memRead: kind !== 'stos', memWrite: kind === 'movs' || kind === 'stos',
    effect: !compares ? NO_FX : rep === undefined ? ARITH_FX : (k) => {
      const c = k.reg(ECX);
      return c === undefined ? unionFx([NO_FX, ARITH_FX]) : c === 0 ? NO_FX : ARITH_FX;
    },
  });
};

// -------------------------------------------------------- misc singles

const lahfSahfT: Template = (b) => {
  if ((b.protectedRegs & bit(EAX)) !== 0) throw new Reject('protected');
  if (b.rng.bool(0.5)) b.op({ opcode: [0x9f], reads: bit(EAX), writes: bit(EAX), flagsRead: SF | ZF | AF | PF | CF });
  else b.op({ opcode: [0x9e], reads: bit(EAX), effect: fx(SF | ZF | AF | PF | CF) });
};

const flagOpsT: Template = (b) => {
  const k = b.rng.int(5);
  const opcode = [0xf8, 0xf9, 0xf5, 0xfc, 0xfd][k]!;
  b.op({ opcode: [opcode], flagsRead: k === 2 ? CF : 0, effect: k <= 2 ? fx(CF) : NO_FX });
  if (k === 3) b.df = 0;
  if (k === 4) b.df = 1;
};

const boundT: Template = (b) => {
  const r = b.rng;
  const size: Size = r.bool(0.3) ? 16 : 32;
  const n = bytesOf(size);
  const reg = b.reg(size, false);
  const m = b.mem(2 * n, {});
  const sx = (v: number): number => (size === 16 ? (v << 16) >> 16 : v | 0);
  let lo = sx(b.value(size)), hi = sx(b.value(size));
  if (r.bool(0.8) && lo > hi) [lo, hi] = [hi, lo];
  const scen = r.int(6);
  let idx: number;
  if (scen === 0) idx = lo;
  else if (scen === 1) idx = hi;
  else if (scen === 2) idx = lo - 1;
  else if (scen === 3) idx = hi + 1;
  else idx = lo + Math.floor(r.u32() / 4294967296 * (hi - lo + 1));
  b.setMem(m.addr, n, lo & maskOf(size));
  b.setMem(m.addr + n, n, hi & maskOf(size));
  tryPins(() => b.pinPart(reg, size, idx & maskOf(size)));
  b.op({ size, opcode: [0x62], rm: m, regField: reg, reads: bit(reg) });
};

const xlatT: Template = (b) => {
  const r = b.rng;
  if ((b.protectedRegs & bit(EAX)) !== 0) throw new Reject('protected');
  const x = r.int(128);
  b.pin(EBX, DATA_WIN + x);
  b.pinPart(EAX, 8, r.int(DATA_WIN_LEN - x));
  const seg = r.bool(0.2) ? r.pick([0x26, 0x2e, 0x36]) : 0;
  b.op({ opcode: [0xd7], prefixes: seg ? [seg] : [], reads: bit(EAX) | bit(EBX), writes: bit(EAX), pinnedUse: bit(EAX) | bit(EBX), memRead: true });
};

const arplT: Template = (b) => {
  const rm = b.rm(16, true);
  const reg = b.reg(16, false);
  b.op({ opcode: [0x63], rm, regField: reg, rmWrite: true, reads: bit(reg), effect: fx(ZF) });
};

const nopT: Template = (b) => {
  const r = b.rng;
  const k = r.int(6);
  if (k === 0) b.op({ opcode: [0x90] });
  else if (k === 1) b.op({ size: 16, opcode: [0x90] });
  else if (k === 2) b.op({ opcode: [0xf3, 0x90] });
  else if (k === 3) {
    // SALC (D6): AL = CF ? 0xff : 0, undocumented but executed by Intel and AMD CPUs.
    if ((b.protectedRegs & bit(EAX)) !== 0) throw new Reject('protected');
    b.op({ opcode: [0xd6], reads: bit(EAX), writes: bit(EAX), flagsRead: CF });
  } else {
    // Hint NOPs 0F 18..0F 1F (0F 1F /0 is the official multi-byte NOP; 0F 18 only with a
    // memory operand): the memory operand is never accessed.
    const op = r.bool(0.5) ? 0x1f : r.pick([0x18, 0x19, 0x1c, 0x1d, 0x1f]);
    const mod = op === 0x18 ? r.int(3) : r.int(4);
    const bytes = [0x0f, op, (mod << 6) | (r.int(8) << 3) | r.int(8)];
    if (op === 0x1f && r.bool(0.7)) bytes[2] = bytes[2]! & 0xc7;
    const rm = bytes[2]! & 7;
    if (mod !== 3 && rm === 4) bytes.push(r.int(256));
    if (mod === 1) bytes.push(r.int(256));
    if (mod === 2 || (mod === 0 && (rm === 5 || (rm === 4 && (bytes[3]! & 7) === 5)))) bytes.push(...le(r.u32(), 4));
    if (r.bool(0.3)) bytes.unshift(0x66);
    b.emit({ bytes });
  }
};

// ------------------------------------------------------------- faults

const FAULT_ADDRS = (b: Builder, n: number): number => {
  const r = b.rng;
  switch (r.int(7)) {
    case 0: return 0x002ff000 + r.int(0x1000 - n + 1); // page below the data page
    case 1: return 0x00301000 + r.int(0x1000);
    case 2: return 0x00300000 + 0x1000 - r.range(1, n - 1 || 1); // straddles the data page end
    case 3: return 0x00300000 - r.range(1, n - 1 || 1); // straddles the data page start
    case 4: return 0x00401000 - r.range(1, n - 1 || 1); // straddles the stack page end
    case 5: return 0x00010000 + r.int(0x00ff0000) & ~0xfff | r.int(0x1000); // low unmapped memory
    default: return r.int(0x10000); // the first 64 KiB
  }
};

function inOurPages(a: number, n: number): boolean {
  for (const p of [0x200000, 0x300000, 0x400000]) if (a < p + PAGE_SIZE && a + n > p) return true;
  return false;
}

/** A 16-bit-addressing operand (0x67): lands below 64 KiB, so always #PF. */
function mem16(b: Builder, bytes: number): MemOperand {
  const r = b.rng;
  const mod = r.int(3);
  const rm = r.int(8);
  const disp: number[] = mod === 1 ? [r.int(256)] : mod === 2 || (mod === 0 && rm === 6) ? le(r.u32(), 2) : [];
  const RM16 = [bit(EBX) | bit(ESI), bit(EBX) | bit(EDI), bit(EBP) | bit(ESI), bit(EBP) | bit(EDI), bit(ESI), bit(EDI), bit(EBP), bit(EBX)];
  return {
    kind: 'mem', addr: 0, bytes, regsUsed: mod === 0 && rm === 6 ? 0 : RM16[rm]!, pinnedUse: 0, seg: 0, addr16: true,
    encode: (rf) => [(mod << 6) | ((rf & 7) << 3) | rm, ...disp],
  };
}

const memFaultT: Template = (b) => {
  const r = b.rng;
  const size = b.size();
  const n = bytesOf(size);
  const kind = r.int(9);
  const form = r.int(4);
  const cmov = form === 3 && size !== 8;
  const write = !cmov && r.bool(0.5);
  let m: MemOperand;
  if (kind === 0) m = mem16(b, n);
  else if (kind <= 3) {
    let a = FAULT_ADDRS(b, n);
    if (inOurPages(a, n) && !(a < 0x300000 + PAGE_SIZE && a + n > 0x300000 + PAGE_SIZE) && !(a < 0x300000 && a + n > 0x300000) && !(a < 0x401000 && a + n > 0x401000)) a = 0x1234;
    m = b.mem(n, { addr: a, write, noSeg: true });
  } else if (kind === 4) {
    // Code page: writes fault (read-only user page); reads of the snippet's own first
    // bytes work (absolute form: the instruction is >= 6 bytes, so the read stays inside it).
    m = write ? b.mem(n, { addr: CODE_BASE + r.int(16), write, noSeg: true }) : absMem(CODE_BASE + r.int(3), n, 0);
  } else if (kind === 5) {
    // CS override: reading works, writing is #GP(0).
    m = b.mem(n, { write: true, noSeg: true });
    m = { ...m, seg: 0x2e };
  } else if (kind === 6) {
    // FS is the null selector in a Linux process: #GP(0) on use.
    m = b.mem(n, { write, noSeg: true });
    m = { ...m, seg: 0x64 };
  } else {
    m = b.mem(n, { write, noSeg: true });
  }
  const reg = b.reg(size, !write);
  if (cmov) {
    // CMOVcc always reads its source: a faulting operand faults even when the condition is false.
    const cc = r.int(16);
    b.op({ size, opcode: [0x0f, 0x40 + cc], rm: m, regField: reg, reads: bit(reg), writes: bit(reg), flagsRead: CC_FLAGS[cc]! });
  } else if (form === 0 || form === 3) {
    b.op({ size, opcode: [write ? 0x88 + w1(size) : 0x8a + w1(size)], rm: m, regField: reg, rmRead: !write, rmWrite: write, reads: write ? bit(full(reg, size)) : 0, writes: write ? 0 : bit(full(reg, size)) });
  } else if (form === 1) {
    b.op({ size, opcode: [0x00 + w1(size)], rm: m, regField: reg, rmWrite: true, reads: bit(full(reg, size)), effect: ARITH_FX });
  } else {
    if ((b.protectedRegs & bit(EAX)) !== 0) throw new Reject('protected');
    b.op({ size, opcode: [0x0f, 0xb0 + w1(size)], rm: m, regField: reg, rmWrite: true, reads: bit(full(reg, size)) | bit(EAX), writes: bit(EAX), effect: ARITH_FX });
  }
};

/** Faulting control transfers and implicit-memory forms. */
const ctlFaultT: Template = (b) => {
  const r = b.rng;
  const kind = r.int(7);
  if (kind === 0) {
    // JMP/CALL reg to unmapped memory.
    const reg = r.int(8);
    if (reg === ESP || !b.isFree(reg)) throw new Reject('reg');
    let t = r.bool(0.5) ? r.int(0x01000000) : 0x00201000 + r.int(16);
    if (inOurPages(t, 1)) t = 0x00100000;
    b.pin(reg, t);
    const call = r.bool(0.5);
    if (call) needEsp(b, 8);
    b.emit({ bytes: [0xff, 0xc0 | ((call ? 2 : 4) << 3) | reg], reads: bit(reg) | bit(ESP), writes: call ? bit(ESP) : 0, memWrite: call, noFallthrough: true });
  } else if (kind === 1) {
    // 0x66 near jumps truncate EIP to 16 bits when taken.
    const cc = r.int(16);
    const i = b.insns.length;
    const k = r.int(3);
    if (k === 0) b.emit({ bytes: [0x66, 0x0f, 0x80 + cc], branch: { target: i + 1 + r.int(2), relBytes: 2, conditional: true }, flagsRead: CC_FLAGS[cc]! });
    else if (k === 1) b.emit({ bytes: [0x66, 0xeb], branch: { target: i + 1 + r.int(2), relBytes: 1, conditional: false }, noFallthrough: true });
    else b.emit({ bytes: [0x66, 0x70 + cc], branch: { target: i + 1 + r.int(2), relBytes: 1, conditional: true }, flagsRead: CC_FLAGS[cc]! });
  } else if (kind === 2) {
    // 16-bit addressing string op with CX != 0
    if ((b.protectedRegs & bit(ECX)) !== 0) throw new Reject('protected');
    const op = r.pick([0xa4, 0xa5, 0xaa, 0xab, 0xac, 0xad]);
    tryPins(() => b.pinPart(ECX, 16, r.range(1, 5)));
    b.emit({ bytes: [0x67, 0xf3, op], reads: 0xff, writes: bit(ECX) | bit(ESI) | bit(EDI) | bit(EAX), memRead: true, memWrite: true });
  } else if (kind === 3) {
    // 16-bit addressing on PUSH/POP r/m, or XLAT
    if (r.bool(0.5)) b.op({ opcode: [0x67, 0xd7], reads: bit(EAX) | bit(EBX), writes: bit(EAX), memRead: true });
    else {
      const m = mem16(b, 4);
      b.op({ opcode: [0xff], rm: m, regField: 6, reads: bit(ESP), writes: bit(ESP), memWrite: true });
    }
  } else if (kind === 4) {
    // REP STOS / MOVS running off the window into an unmapped page (partial progress at the fault).
    if ((b.protectedRegs & bit(ECX)) !== 0) throw new Reject('protected');
    const size = b.size();
    const e = bytesOf(size);
    const down = r.bool(0.5);
    const cnt = r.range(8, 60);
    const dst = down ? DATA_WIN + r.int(24) : 0x300000 + PAGE_SIZE - r.int(24) - e;
    const op = r.bool(0.5) ? 0xaa : 0xa4;
    b.pin(EDI, dst);
    if (op === 0xa4) b.pin(ESI, down ? DATA_WIN + 0x80 + r.int(0x70) : DATA_WIN + r.int(0x40));
    b.pin(ECX, cnt);
    b.op({ opcode: [down ? 0xfd : 0xfc] });
    b.op({
      size, opcode: [op + w1(size)], rep: 0xf3, reads: 0xff, writes: bit(ECX) | bit(ESI) | bit(EDI), pinnedUse: bit(ECX) | bit(ESI) | bit(EDI),
      memRead: true, memWrite: true,
    });
  } else if (kind === 5) {
    // #AC: POPF with AC, then a misaligned access (Linux sets CR0.AM).
    const d = needEsp(b, 8);
    if (b.memWrittenSoFar) throw new Reject('stack');
    b.setMem(INITIAL_ESP + d, 4, 0x40202 | (r.u32() & 0x8d5));
    b.op({ opcode: [0x9d], reads: bit(ESP), writes: bit(ESP), memRead: true, effect: fx(ARITH), keepsEspKnown: true });
    b.espDelta = d + 4;
    const size: Size = r.bool(0.5) ? 16 : 32;
    const a = DATA_WIN + 1 + 2 * r.int(100);
    const m = b.mem(bytesOf(size), { addr: a, write: true });
    b.op({ size, opcode: [0x01], rm: m, regField: r.int(8), rmWrite: true, reads: 0xff, effect: ARITH_FX });
  } else {
    // Snippet placed so that its last instruction straddles the end of the code page.
    b.codeOffset = -1; // resolved by the group's finisher
    const pick = r.pick([aluT([0, 1, 2, 3, 4, 5, 6, 7]), movT, incDecT, mulT, nopT]);
    pick(b);
  }
};

/** Stack operations with ESP just above the bottom of the stack page: #PF part-way (CR2 = first unmapped byte). */
const stackFaultT: Template = (b) => {
  const r = b.rng;
  const esp = STACK_BASE_ADDR + r.int(14);
  b.emit({ bytes: [0xbc, ...le(esp, 4)], writes: bit(ESP) });
  const k = r.int(7);
  const regs = 0xff;
  if (k === 0) b.emit({ bytes: [0x50 + r.int(8)], reads: regs, writes: bit(ESP), memWrite: true });
  else if (k === 1) b.emit({ bytes: [0x66, 0x68, ...le(r.u32(), 2)], reads: regs, writes: bit(ESP), memWrite: true });
  else if (k === 2) b.emit({ bytes: r.bool(0.5) ? [0x9c] : [0x66, 0x9c], reads: regs, writes: bit(ESP), memWrite: true, flagsRead: ARITH });
  else if (k === 3) b.emit({ bytes: r.bool(0.7) ? [0x60] : [0x66, 0x60], reads: regs, writes: bit(ESP), memWrite: true });
  else if (k === 4) b.emit({ bytes: [0xe8], branch: { target: b.insns.length + 1, relBytes: 4, conditional: false }, noFallthrough: true, reads: regs, writes: bit(ESP), memWrite: true });
  else if (k === 5) b.emit({ bytes: [0xc8, ...le(r.int(0x40), 2), r.int(2)], reads: regs, writes: bit(ESP) | bit(EBP), memWrite: true });
  else {
    const m = b.mem(4, {});
    b.op({ opcode: [0xff], rm: m, regField: 6, reads: regs, writes: bit(ESP), memWrite: true });
  }
};

/** POPF with TF set: a single-step #DB after the next instruction (MOV SS delays it by one more). */
const singleStepT: Template = (b) => {
  const r = b.rng;
  const d = needEsp(b, 8);
  const image = (r.u32() & 0x8d5) | TF | 0x202 | (r.bool(0.3) ? DF : 0);
  b.op({ opcode: [0x68], imm: [[image, 4]], reads: bit(ESP), writes: bit(ESP), memWrite: true, keepsEspKnown: true });
  b.op({ opcode: [0x9d], reads: bit(ESP), writes: bit(ESP), memRead: true, effect: fx(ARITH), keepsEspKnown: true });
  b.espDelta = d;
  b.df = (image & DF) !== 0 ? 1 : 0;
  const k = r.int(6);
  if (k === 0) {
    // MOV SS, r16 (SS stays 0x2b): the trap is held back for one more instruction.
    const reg = r.pick([EAX, ECX, EDX, EBX, ESI, EDI]);
    b.pinPart(reg, 16, 0x2b);
    b.op({ opcode: [0x8e], rm: { kind: 'reg', reg }, regField: 2 });
  } else if (k === 1) {
    // A REP string instruction traps after every iteration.
    stringT(b);
    return;
  }
  pickTemplate(b, [[3, aluT(ALL_ALU)], [1, incDecT], [1, movT], [1, pushPopT], [1, jccT]] as Array<[number, Template]>)(b);
};

const TRAPS: Array<[number, (b: Builder) => void]> = [
  [3, (b) => b.op({ opcode: [0xcc] })],
  [2, (b) => b.op({ opcode: [0xcd, 0x03] })],
  [1, (b) => b.op({ opcode: [0xcd, 0x04] })],
  [3, (b) => b.op({ opcode: [0xce], flagsRead: OF })],
  [4, (b) => {
    let n = b.rng.int(256);
    if (n === 3 || n === 4 || n === 0x80) n = 0x21;
    b.op({ opcode: [0xcd, n] });
  }],
  [2, (b) => b.op({ opcode: [0x0f, 0x0b] })],
  [1, (b) => b.op({ opcode: [0x0f, 0xb9], rm: b.rm(32, false, 0.5), regField: b.rng.int(8) })],
  [2, (b) => b.op({ opcode: [0xf4] })],
  [1, (b) => b.op({ opcode: [b.rng.bool(0.5) ? 0xfa : 0xfb] })],
  [2, (b) => {
    const op = b.rng.pick([0xe4, 0xe5, 0xe6, 0xe7, 0xec, 0xed, 0xee, 0xef, 0x6c, 0x6d, 0x6e, 0x6f]);
    b.op({ opcode: op <= 0xe7 ? [op, b.rng.int(256)] : [op], reads: 0xff });
  }],
  [3, (b) => {
    // Privileged instructions at CPL 3: #GP(0).
    const k = b.rng.int(11);
    const m = (): number => 0xc0 | b.rng.int(64);
    const forms: number[][] = [
      [0x0f, 0x20, m()], [0x0f, 0x22, m()], [0x0f, 0x21, m()], [0x0f, 0x23, m()], [0x0f, 0x06], [0x0f, 0x08], [0x0f, 0x09],
      [0x0f, 0x30], [0x0f, 0x32], [0x0f, 0x00, 0xd0 | b.rng.int(16)],
    ];
    if (k < forms.length) b.emit({ bytes: forms[k]! });
    else {
      const mm = b.mem(6, {});
      b.op({ opcode: [0x0f, 0x01], rm: mm, regField: b.rng.pick([2, 3, 6, 7]) });
    }
  }],
  [3, (b) => {
    // #UD: LOCK on a register destination or a non-lockable instruction, LEA/CMPXCHG8B register forms, UD0.
    const k = b.rng.int(6);
    const reg = b.rng.int(8);
    if (k === 0) b.emit({ bytes: [0xf0, b.rng.pick([0x01, 0x09, 0x29, 0x31]), 0xc0 | (b.rng.int(8) << 3) | reg] });
    else if (k === 1) b.emit({ bytes: [0xf0, 0x8b, b.rng.int(0x40) & ~7 | 5, ...le(DATA_WIN, 4)] });
    else if (k === 2) b.emit({ bytes: [0xf0, 0x90] });
    else if (k === 3) b.emit({ bytes: [0x8d, 0xc0 | (b.rng.int(8) << 3) | reg] });
    else if (k === 4) b.emit({ bytes: [0x0f, 0xc7, 0xc8 | reg] });
    else b.emit({ bytes: [0x0f, 0xff, 0xc0 | reg] });
  }],
  [2, (b) => b.op({ size: 16, opcode: [0x8c], rm: { kind: 'reg', reg: b.reg(16, true) }, regField: 6 + b.rng.int(2), writes: 0xff })],
  [2, (b) => {
    // Repeated prefixes pushing the instruction to 15 bytes (fine) or beyond (#GP(0)).
    const body = [0x05, ...le(b.rng.u32(), 4)]; // add eax, imm32: 5 bytes
    const n = 10 - b.rng.int(3) + b.rng.int(4); // 8..13 prefixes: 13..18 bytes
    const p = b.rng.pick([0x3e, 0x26, 0x36, 0xf3, 0x2e]);
    if ((b.protectedRegs & bit(EAX)) !== 0) throw new Reject('protected');
    b.emit({ bytes: [...new Array<number>(n).fill(p), ...body], reads: bit(EAX), writes: bit(EAX), effect: ARITH_FX });
  }],
];

const trapsT: Template = (b) => pickTemplate(b, TRAPS)(b);

// ------------------------------------------------------------ groups

const ALL_ALU = [0, 1, 2, 3, 4, 5, 6, 7];
const FLAG_SETTERS: Array<[number, Template]> = [[4, aluT(ALL_ALU)], [1, testT], [1, incDecT], [1, shiftT([4, 5, 7])]];

LOOP_BODY.push([4, aluT(ALL_ALU)], [2, incDecT], [1, negNotT], [1, shiftT([0, 1, 4, 5, 7])], [1, setccT], [1, cmovT], [1, btT]);

const G = (name: string, weight: number, maxInsns: number, templates: Array<[number, Template]>, setup?: (b: Builder) => void): Group =>
  ({ name, weight, maxInsns, templates, ...(setup ? { setup } : {}) });

export const GROUPS: readonly Group[] = [
  G('add-sub-cmp', 10, 4, [[1, aluT([0, 5, 7])]]),
  G('adc-sbb', 6, 4, [[3, aluT([2, 3])], [1, aluT([0, 5])], [1, flagOpsT]]),
  G('and-or-xor', 8, 4, [[1, aluT([1, 4, 6])]]),
  G('test', 3, 3, [[3, testT], [1, setccT]]),
  G('inc-dec', 4, 4, [[3, incDecT], [1, aluT(ALL_ALU)]]),
  G('neg-not', 4, 3, [[3, negNotT], [1, aluT(ALL_ALU)]]),
  G('shift', 10, 3, [[1, shiftT([4, 5, 7])]]),
  G('rotate', 8, 3, [[4, shiftT([0, 1, 2, 3])], [1, flagOpsT]]),
  G('shld-shrd', 6, 3, [[1, shldT]]),
  G('mul-imul', 6, 3, [[1, mulT]]),
  G('div-idiv', 8, 2, [[1, divT]]),
  G('bt-bts-btr-btc', 6, 3, [[1, btT]]),
  G('bsf-bsr', 4, 2, [[1, bsfT]]),
  G('bswap', 1, 3, [[1, bswapT]]),
  G('xadd', 2, 3, [[1, xaddT]]),
  G('cmpxchg', 3, 3, [[1, cmpxchgT]]),
  G('cmpxchg8b', 2, 2, [[1, cmpxchg8bT]]),
  G('cmovcc', 4, 4, [[2, cmovT], ...FLAG_SETTERS]),
  G('setcc', 4, 4, [[2, setccT], ...FLAG_SETTERS]),
  G('jcc-jmp', 8, 8, [[3, jccT], [2, aluT(ALL_ALU)], [1, incDecT], [1, movT], [1, setccT]]),
  G('loop', 4, 4, [[3, loopT], [1, aluT(ALL_ALU)]]),
  G('bcd', 5, 3, [[3, bcdT], [2, aluAlT]]),
  G('convert', 2, 3, [[3, convertT], [1, movT]]),
  G('movsx-movzx', 3, 3, [[1, movxT]]),
  G('mov', 4, 4, [[1, movT]]),
  G('xchg', 3, 3, [[1, xchgT]]),
  G('lea', 4, 3, [[1, leaT]]),
  G('push-pop', 5, 6, [[1, pushPopT]]),
  G('pushf-popf', 4, 4, [[3, pushfPopfT], [1, aluT(ALL_ALU)], [1, flagOpsT]]),
  G('pusha-popa', 2, 3, [[1, pushaT], [1, pushPopT]]),
  G('enter-leave', 3, 3, [[3, enterLeaveT], [1, pushPopT]]),
  G('call-ret-jmp', 4, 5, [[2, callRetT], [1, aluT(ALL_ALU)], [1, pushPopT]]),
  G('far-transfer', 2, 3, [[3, farT], [1, aluT(ALL_ALU)]]),
  G('lahf-sahf', 2, 3, [[2, lahfSahfT], [1, aluT(ALL_ALU)]]),
  G('clc-stc-cmc-cld-std', 2, 4, [[2, flagOpsT], [1, aluT([2, 3])], [1, shiftT([2, 3])]]),
  G('string', 10, 3, [[1, stringT]]),
  G('bound', 2, 2, [[1, boundT]]),
  G('xlat', 1, 2, [[1, xlatT]]),
  G('arpl-nop', 2, 3, [[1, arplT], [1, nopT]]),
  G('segment-load', 4, 4, [[3, segLoadT], [2, segUseT], [1, movT], [1, pushPopT]]),
  G('traps', 4, 2, [[1, trapsT], [1, aluT(ALL_ALU)]]),
  G('mem-faults', 5, 2, [[3, memFaultT], [2, ctlFaultT], [1, stackFaultT], [1, aluT(ALL_ALU)]]),
  G('single-step', 2, 3, [[1, singleStepT]]),
  G('mixed', 12, 8, [
    [6, aluT(ALL_ALU)], [2, testT], [2, incDecT], [1, negNotT], [3, shiftT([0, 1, 2, 3, 4, 5, 7])], [1, shldT], [2, mulT], [1, divT],
    [2, btT], [1, bsfT], [1, bswapT], [1, xaddT], [1, cmpxchgT], [1, cmpxchg8bT], [2, cmovT], [2, setccT], [3, jccT], [1, bcdT],
    [1, convertT], [1, movxT], [2, movT], [1, xchgT], [1, leaT], [2, pushPopT], [1, pushfPopfT], [1, lahfSahfT], [1, flagOpsT],
    [1, stringT], [1, xlatT], [1, callRetT],
  ]),
];

function pickTemplate<T>(b: Builder, list: ReadonlyArray<[number, T]>): T {
  let total = 0;
  for (const [w] of list) total += w;
  let x = b.rng.int(total);
  for (const [w, t] of list) {
    if (x < w) return t;
    x -= w;
  }
  return list[list.length - 1]![1];
}

/** PRNG seed of one case: a hash of the run seed and the case id. */
export function caseSeed(seed: number, id: number): number {
  let h = Math.imul(seed ^ 0x5bd1e995, 0x9e3779b1) ^ id;
  h = Math.imul(h ^ (h >>> 15), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/** Builds one case of `group`. */
export function generateCase(seed: number, id: number, group: Group): GenCase {
  const rng = new Rng(caseSeed(seed, id));
  for (let attempt = 0; attempt < 200; attempt++) {
    const b = new Builder(rng);
    try {
      group.setup?.(b);
      const n = rng.bool(0.45) ? 1 : rng.range(1, group.maxInsns);
      for (let k = 0; k < n && b.insns.length < 12 && b.codeOffset >= 0; k++) pickTemplate(b, group.templates)(b);
      if (b.codeOffset < 0) {
        // Page-end placement: the last instruction straddles (or ends exactly at) the page end.
        b.codeOffset = 0;
        const probe = b.build();
        const last = probe.insns[probe.insns.length - 1]!;
        const total = last.offset + last.length;
        const cut = rng.int(last.length);
        b.codeOffset = PAGE_SIZE - (total - cut);
        b.pageEnd = true;
        const built = b.build();
        const code = built.code.slice(0, total - cut);
        return { id, group: group.name, code, codeOffset: built.codeOffset, regs: built.regs, eflags: built.eflags, data: built.data, stack: built.stack, built: { ...built, code } };
      }
      const built = b.build();
      return { id, group: group.name, code: built.code, codeOffset: built.codeOffset, regs: built.regs, eflags: built.eflags, data: built.data, stack: built.stack, built };
    } catch (e) {
      if (!(e instanceof Reject)) throw e;
    }
  }
  throw new Error(`group ${group.name}: could not build case ${id} (too many rejections)`);
}

/** Group for case `id`: a fixed weighted rotation, so every group is covered in any large enough range. */
export function groupOf(id: number, groups: readonly Group[] = GROUPS): Group {
  const total = groups.reduce((s, g) => s + g.weight, 0);
  let x = caseSeed(0x6a09e667, id) % total;
  for (const g of groups) {
    if (x < g.weight) return g;
    x -= g.weight;
  }
  return groups[groups.length - 1]!;
}

export function generateCases(seed: number, first: number, count: number, groups: readonly Group[] = GROUPS): GenCase[] {
  const out: GenCase[] = [];
  for (let id = first; id < first + count; id++) out.push(generateCase(seed, id, groupOf(id, groups)));
  return out;
}

export function groupByName(name: string): Group {
  const g = GROUPS.find((x) => x.name === name);
  if (g === undefined) throw new Error(`no group ${name}`);
  return g;
}

export type { Group };
