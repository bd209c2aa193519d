/**
 * The x87 helpers in WebAssembly (x87-emit.ts) against the interpreter's x87
 * unit, instruction by instruction: random register files, control and
 * status words, tags and memory operands; every encoding the plan covers.
 * Where a helper takes the case, the state it leaves (registers, tags, TOP,
 * status word, last instruction and data pointers), the memory it writes
 * and the EFLAGS bits it returns must be those of the interpreter; where it
 * declines, it must have changed nothing.
 */
import { describe, expect, it } from 'vitest';
import { Rng } from './test-support/xorshift.ts';
import { X87 } from '../cpu/fpu/x87.ts';
import { MockFpuHost } from '../cpu/fpu/test-support/mock-host.ts';
import { X87_BYTES, X87_CTL, X87_HI, X87_LO, X87_SE, X87_SLOTS } from '../cpu/fpu/x87-storage.ts';
import { ST_CS_SEL, ST_X87, ST_X87_OK } from './layout.ts';
import { X87Helper, planX87, type X87Plan, x87HelperModule, x87HelperName } from './x87-emit.ts';

const STATE = 0x1000;
const BLOCK = STATE + ST_X87;
const OPERAND = 0x800;
const CS = 0x73;
const MEM_SLOT = 8;


interface Helpers { memory: WebAssembly.Memory; call: (h: X87Helper, args: number[]) => number }

function instantiate(): Helpers {
  const memory = new WebAssembly.Memory({ initial: 1 });
  const instance = new WebAssembly.Instance(x87HelperModule(STATE, false), { i: { m: memory } });
  return {
    memory,
    call: (h, args) => (instance.exports[x87HelperName(h)] as (...a: number[]) => number)(...args),
  };
}

/** Every (opcode, ModRM) the plan covers; memory forms as [disp32]. */
function coveredEncodings(): { op: number; modrm: number; plan: X87Plan }[] {
  const out: { op: number; modrm: number; plan: X87Plan }[] = [];
  for (let op = 0xd8; op <= 0xdf; op++) {
    for (let modrm = 0; modrm < 256; modrm++) {
      if (modrm < 0xc0 && (modrm & 0xc7) !== 0x05) continue;
      const plan = planX87(op, modrm);
      if (plan !== null) out.push({ op, modrm, plan });
    }
  }
  return out;
}

/** Sign/exponent words: mostly close to 1.0 so that operations interact, sometimes at the range's ends or special. */
function randomSe(r: Rng): number {
  const sign = r.chance(0.5) ? 0x8000 : 0;
  const k = r.int(100);
  if (k < 70) return sign | (0x3fff - 70 + r.int(140));
  if (k < 80) return sign | (r.chance(0.5) ? 1 + r.int(64) : 0x7ffe - r.int(64));
  if (k < 85) return sign | (0x3fff - 1100 + r.int(2200)); // around the double range's ends
  if (k < 90) return sign; // zero or denormal
  if (k < 93) return sign | 0x7fff; // infinity or NaN
  return sign | r.int(0x8000);
}

function randomSignificand(r: Rng, se: number): [number, number] {
  const k = r.int(10);
  let hi = (r.next() | 0x80000000) >>> 0;
  let lo = r.next();
  if (k === 0) { hi = 0x80000000; lo = 0; } // a power of two
  else if (k === 1) { hi = 0xffffffff; lo = 0xffffffff - r.int(4); } // all ones: rounding carries out
  else if (k === 2) lo = (lo & ~0x7ff) | (r.chance(0.5) ? 0x400 : 0x3ff); // at or near a double's tie
  else if (k === 3) lo &= ~0xfff; // few low bits: exact results are likely
  if ((se & 0x7fff) === 0 && r.chance(0.6)) { hi = 0; lo = 0; }
  if (r.chance(0.02)) hi &= 0x7fffffff; // unnormal / pseudo-denormal
  return [hi, lo];
}

const CONTROL_WORDS = [0x037f, 0x027f, 0x0f7f, 0x077f, 0x037b, 0x035f, 0x137f];

/** A random x87 state block. */
function randomBlock(r: Rng): Uint8Array {
  const b = new Uint8Array(X87_BYTES);
  const dv = new DataView(b.buffer);
  for (let p = 0; p < X87_SLOTS; p++) {
    const se = randomSe(r);
    const [hi, lo] = randomSignificand(r, se);
    dv.setUint16(X87_SE + 2 * p, se, true);
    dv.setUint32(X87_HI + 4 * p, hi, true);
    dv.setUint32(X87_LO + 4 * p, lo, true);
  }
  let empty = 0;
  for (let p = 0; p < 8; p++) if (r.chance(0.2)) empty |= 1 << p;
  let sw = r.next() & 0x477f & ~0x80; // condition codes and sticky flags, no TOP
  if (r.chance(0.05)) sw |= 0x8080; // an exception pending
  const ctl = [r.chance(0.85) ? 0x037f : r.pick(CONTROL_WORDS), sw, r.int(8), empty, r.next() | 0, r.int(0x10000), r.int(0x800), r.next() | 0, r.int(0x10000)];
  ctl.forEach((v, k) => dv.setInt32(X87_CTL + 4 * k, v, true));
  return b;
}

/** A memory operand's bits: mostly normal numbers near 1.0, sometimes zero, denormal, infinite or NaN. */
function randomOperand(r: Rng, plan: X87Plan): number[] {
  const dv = new DataView(new ArrayBuffer(8));
  const k = r.int(20);
  if (plan.kind >= 2 && plan.mem === 'load') { // integers
    const v = k === 0 ? 0 : k === 1 ? -0x80000000 : k === 2 ? 0x7fffffff : k === 3 ? -1 : k < 10 ? r.int(2000) - 1000 : r.next() | 0;
    if (plan.kind === 2) dv.setInt32(0, v, true);
    else dv.setInt16(0, k === 1 ? -0x8000 : v, true);
    dv.setUint16(plan.kind === 3 ? 2 : 4, r.next(), true); // bytes past the operand: never read
  } else if (plan.size === 8) {
    dv.setFloat64(0, (r.chance(0.5) ? -1 : 1) * (r.next() / 2 ** 32 + 0.5) * 2 ** (r.int(40) - 20), true);
    if (k === 0) dv.setFloat64(0, r.chance(0.5) ? 0 : -0, true);
    if (k === 1) dv.setUint32(4, r.int(0x100000), true); // denormal
    if (k === 2) dv.setUint32(4, 0x7ff00000 | r.int(0x100000), true);
    if (k === 3) dv.setUint32(4, r.next() & 0xffefffff, true);
    if (k === 4) dv.setUint32(0, r.next(), true);
  } else {
    dv.setFloat32(0, (r.chance(0.5) ? -1 : 1) * (r.next() / 2 ** 32 + 0.5) * 2 ** (r.int(40) - 20), true);
    if (k === 0) dv.setFloat32(0, 0, true);
    if (k === 1) dv.setUint32(0, r.int(0x800000), true);
    if (k === 2) dv.setUint32(0, 0x7f800000 | r.int(0x800000), true);
  }
  return Array.from(new Uint8Array(dv.buffer));
}

/** The block without slot MEM (scratch for both sides). */
function comparable(b: Uint8Array): number[] {
  const out = Array.from(b);
  for (const [base, width] of [[X87_LO, 4], [X87_HI, 4], [X87_SE, 2]] as const) {
    for (let k = 0; k < width; k++) out[base + width * MEM_SLOT + k] = 0;
  }
  return out;
}

const hex = (b: ArrayLike<number>): string => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');

describe('x87 helper modules', () => {
  it('are compiled once per state-frame address, and only the last 8 addresses are kept', () => {
    const first = x87HelperModule(0x40000, false);
    expect(x87HelperModule(0x40000, false)).toBe(first);
    for (let k = 1; k <= 8; k++) x87HelperModule(0x40000 + k * 4096, false);
    expect(x87HelperModule(0x40000, false)).not.toBe(first);
  });
});

describe('x87 helpers in WebAssembly', () => {
  it('leave the interpreter\'s state where they take a case, and nothing changed where they decline', () => {
    const r = new Rng(0x87);
    const { memory, call } = instantiate();
    const wasmBytes = new Uint8Array(memory.buffer);
    const wasmView = new DataView(memory.buffer);
    const host = new MockFpuHost();
    const ref = new X87(host);
    const refBuffer = new ArrayBuffer(X87_BYTES);
    const refBytes = new Uint8Array(refBuffer);
    ref.home(refBuffer, 0, false);
    const encodings = coveredEncodings();
    const handled = new Map<string, number>();
    const failures: string[] = [];
    const CASES = 200_000;
    for (let n = 0; n < CASES && failures.length < 5; n++) {
      const { op, modrm, plan } = r.pick(encodings);
      const block = randomBlock(r);
      const operand = randomOperand(r, plan);
      const eip = r.next() | 0;
      const fop = ((op & 7) << 8) | modrm;
      const x87Ok = r.chance(0.97) ? 1 : 0;
      // The interpreter.
      refBytes.set(block);
      host.mem.set(operand, OPERAND);
      host.compareFlags = null;
      ref.execute(op, modrm, modrm < 0xc0 ? 0 : -1, OPERAND, true, CS, eip);
      const refState = comparable(refBytes);
      const refMem = hex(host.mem.subarray(OPERAND, OPERAND + 8));
      const cf = host.compareFlags as { zf: boolean; pf: boolean; cf: boolean } | null;
      // The helper.
      wasmBytes.set(block, BLOCK);
      wasmBytes.set(operand, OPERAND);
      wasmView.setInt32(STATE + ST_X87_OK, x87Ok, true);
      wasmView.setInt32(STATE + ST_CS_SEL, CS, true);
      const tail = plan.mem !== 'none' ? [eip, fop, OPERAND] : plan.fdp ? [eip, fop, 0] : [eip, fop];
      let result: number;
      if (plan.mem === 'load') {
        result = call(X87Helper.LoadMem, [OPERAND, plan.kind]);
        if (result !== 0) result = call(plan.helper, [...plan.args, ...tail]);
      } else if (plan.mem === 'store') {
        result = call(plan.helper, [OPERAND, ...plan.args, ...tail]);
      } else {
        result = call(plan.helper, [...plan.args, ...tail]);
      }
      const took = plan.flags ? result !== -1 : result === 1;
      const got = comparable(wasmBytes.subarray(BLOCK, BLOCK + X87_BYTES));
      const gotMem = hex(wasmBytes.subarray(OPERAND, OPERAND + 8));
      const name = `${op.toString(16)} ${modrm.toString(16)}`;
      let problem: string | null = null;
      if (took) {
        handled.set(name, (handled.get(name) ?? 0) + 1);
        if (x87Ok === 0) problem = 'ran although x87 was not allowed';
        else if (hex(got) !== hex(refState)) problem = `state\n  interpreter ${hex(refState)}\n  helper      ${hex(got)}`;
        else if (gotMem !== refMem) problem = `memory: interpreter ${refMem}, helper ${gotMem}`;
        else if (plan.flags) {
          const want = cf === null ? -2 : (cf.zf ? 0x40 : 0) | (cf.pf ? 4 : 0) | (cf.cf ? 1 : 0);
          if (want !== result) problem = `EFLAGS bits: interpreter ${want}, helper ${result}`;
        }
      } else {
        if (hex(got) !== hex(comparable(block))) problem = 'declined but changed the state';
        else if (gotMem !== hex(operand)) problem = 'declined but wrote memory';
      }
      if (problem !== null) failures.push(`case ${n}: ${name} block ${hex(block)} operand ${hex(operand)}: ${problem}`);
    }
    expect(failures).toEqual([]);
    // Each covered encoding took some cases, except FLD ST(7): it needs ST(7) valid, so the push always overflows.
    const never = encodings.map(({ op, modrm }) => `${op.toString(16)} ${modrm.toString(16)}`).filter((k) => !handled.has(k));
    expect(never).toEqual(['d9 c7']);
    const total = [...handled.values()].reduce((a, b) => a + b, 0);
    expect(total).toBeGreaterThan(CASES / 4);
  });
});
