/**
 * Table-driven disassembler (Intel syntax) over opcode-table.ts, for
 * debugging, traces and tests. It decodes exactly the lengths the
 * interpreter consumes (prefixes, ModRM/SIB/displacement, immediates), so a
 * test can compare its length with the EIP advance of the interpreter.
 * Relative targets are printed as absolute addresses, taking `address` (by
 * default `offset`) as the address of the first byte.
 */
import { HAS_MODRM, rowFor } from './opcode-table.ts';

export interface DisasmResult {
  text: string;
  length: number;
}

const R32 = ['eax', 'ecx', 'edx', 'ebx', 'esp', 'ebp', 'esi', 'edi'];
const R16 = ['ax', 'cx', 'dx', 'bx', 'sp', 'bp', 'si', 'di'];
const R8 = ['al', 'cl', 'dl', 'bl', 'ah', 'ch', 'dh', 'bh'];
const SREG = ['es', 'cs', 'ss', 'ds', 'fs', 'gs', '?6', '?7'];
const EA16 = ['bx+si', 'bx+di', 'bp+si', 'bp+di', 'si', 'di', 'bp', 'bx'];
const PTR: Record<number, string> = { 1: 'byte ptr ', 2: 'word ptr ', 4: 'dword ptr ', 6: 'fword ptr ', 8: 'qword ptr ', 10: 'tbyte ptr ' };

class OutOfBytes extends Error {}

class Reader {
  pos: number;
  constructor(readonly bytes: Uint8Array, start: number) { this.pos = start; }
  u8(): number {
    if (this.pos >= this.bytes.length) throw new OutOfBytes();
    return this.bytes[this.pos++];
  }
  u16(): number { const a = this.u8(); return a | (this.u8() << 8); }
  u32(): number { const a = this.u16(); return (a | (this.u16() << 16)) >>> 0; }
  s8(): number { return (this.u8() << 24) >> 24; }
}

function h(v: number): string {
  return '0x' + (v >>> 0).toString(16);
}

function sh(v: number): string {
  return v < 0 ? '-0x' + (-v).toString(16) : '+0x' + v.toString(16);
}

interface Ctx {
  rd: Reader;
  o32: boolean;
  a32: boolean;
  seg: string;
  modrm: number;
  memText: string;
}

function decodeMem(cx: Ctx): void {
  const { rd, modrm } = cx;
  const mod = modrm >> 6;
  const rm = modrm & 7;
  let t: string;
  if (cx.a32) {
    if (rm === 4) {
      const sib = rd.u8();
      const base = sib & 7;
      const idx = (sib >> 3) & 7;
      const parts: string[] = [];
      if (base === 5 && mod === 0) parts.push(h(rd.u32()));
      else parts.push(R32[base]);
      if (idx !== 4) parts.push(R32[idx] + ((sib >> 6) !== 0 ? '*' + (1 << (sib >> 6)) : ''));
      t = parts.join('+');
    } else if (rm === 5 && mod === 0) {
      t = h(rd.u32());
    } else {
      t = R32[rm];
    }
    if (mod === 1) t += sh(rd.s8());
    else if (mod === 2) t += sh(rd.u32() | 0);
  } else if (rm === 6 && mod === 0) {
    t = h(rd.u16());
  } else {
    t = EA16[rm];
    if (mod === 1) t += sh(rd.s8());
    else if (mod === 2) t += sh((rd.u16() << 16) >> 16);
  }
  cx.memText = (cx.seg !== '' ? cx.seg + ':' : '') + '[' + t + ']';
}

function regName(n: number, size: number): string {
  return size === 1 ? R8[n] : size === 2 ? R16[n] : R32[n];
}

function operandSize(code: string, o32: boolean): number {
  const s = code.slice(1);
  if (s === 'b' || s === 'bs') return 1;
  if (s === 'w') return 2;
  if (s === 'd') return 4;
  if (s === 'q') return 8;
  if (s === 'p') return o32 ? 6 : 4;
  return o32 ? 4 : 2;
}

function formatOperand(code: string, cx: Ctx, next: () => number): string {
  const kind = code[0];
  const size = operandSize(code, cx.o32);
  switch (code) {
    case 'AL': return 'al';
    case 'CL': return 'cl';
    case 'DX': return 'dx';
    case 'eAX': return cx.o32 ? 'eax' : 'ax';
    case '1': return '1';
    case 'ES': case 'CS': case 'SS': case 'DS': case 'FS': case 'GS': return code.toLowerCase();
    default: break;
  }
  switch (kind) {
    case 'E': case 'M': case 'R':
      if (cx.modrm >= 0xc0) return regName(cx.modrm & 7, size > 4 ? 4 : size);
      return (code === 'M' || code === 'Ma' ? '' : PTR[size] ?? '') + cx.memText;
    case 'G': return regName((cx.modrm >> 3) & 7, size);
    case 'S': return SREG[(cx.modrm >> 3) & 7];
    case 'C': return 'cr' + ((cx.modrm >> 3) & 7);
    case 'D': return 'dr' + ((cx.modrm >> 3) & 7);
    case 'Z': return regName(next(), code === 'Zd' ? 4 : size);
    case 'I':
      if (code === 'Ibs') return h(cx.rd.s8() & (cx.o32 ? -1 : 0xffff));
      if (code === 'Ib') return h(cx.rd.u8());
      if (code === 'Iw') return h(cx.rd.u16());
      return h(cx.o32 ? cx.rd.u32() : cx.rd.u16());
    case 'O': {
      const off = cx.a32 ? cx.rd.u32() : cx.rd.u16();
      return PTR[size] + (cx.seg !== '' ? cx.seg : 'ds') + ':[' + h(off) + ']';
    }
    case 'A': {
      const off = cx.o32 ? cx.rd.u32() : cx.rd.u16();
      return h(cx.rd.u16()) + ':' + h(off);
    }
    default: return '?' + code;
  }
}

// ---------- x87 ----------
const FPU_MEM: readonly (readonly string[])[] = [
  ['fadd dword', 'fmul dword', 'fcom dword', 'fcomp dword', 'fsub dword', 'fsubr dword', 'fdiv dword', 'fdivr dword'],
  ['fld dword', '', 'fst dword', 'fstp dword', 'fldenv', 'fldcw', 'fnstenv', 'fnstcw'],
  ['fiadd dword', 'fimul dword', 'ficom dword', 'ficomp dword', 'fisub dword', 'fisubr dword', 'fidiv dword', 'fidivr dword'],
  ['fild dword', 'fisttp dword', 'fist dword', 'fistp dword', '', 'fld tbyte', '', 'fstp tbyte'],
  ['fadd qword', 'fmul qword', 'fcom qword', 'fcomp qword', 'fsub qword', 'fsubr qword', 'fdiv qword', 'fdivr qword'],
  ['fld qword', 'fisttp qword', 'fst qword', 'fstp qword', 'frstor', '', 'fnsave', 'fnstsw word'],
  ['fiadd word', 'fimul word', 'ficom word', 'ficomp word', 'fisub word', 'fisubr word', 'fidiv word', 'fidivr word'],
  ['fild word', 'fisttp word', 'fist word', 'fistp word', 'fbld tbyte', 'fild qword', 'fbstp tbyte', 'fistp qword'],
];
const D9_REG: Record<number, string> = {
  0xd0: 'fnop', 0xe0: 'fchs', 0xe1: 'fabs', 0xe4: 'ftst', 0xe5: 'fxam', 0xe8: 'fld1', 0xe9: 'fldl2t', 0xea: 'fldl2e',
  0xeb: 'fldpi', 0xec: 'fldlg2', 0xed: 'fldln2', 0xee: 'fldz', 0xf0: 'f2xm1', 0xf1: 'fyl2x', 0xf2: 'fptan', 0xf3: 'fpatan',
  0xf4: 'fxtract', 0xf5: 'fprem1', 0xf6: 'fdecstp', 0xf7: 'fincstp', 0xf8: 'fprem', 0xf9: 'fyl2xp1', 0xfa: 'fsqrt',
  0xfb: 'fsincos', 0xfc: 'frndint', 0xfd: 'fscale', 0xfe: 'fsin', 0xff: 'fcos',
};
const ARITH = ['fadd', 'fmul', 'fcom', 'fcomp', 'fsub', 'fsubr', 'fdiv', 'fdivr'];

function fpuText(op: number, modrm: number, mem: string): string {
  const reg = (modrm >> 3) & 7;
  if (modrm < 0xc0) {
    const n = FPU_MEM[op - 0xd8][reg];
    if (n === '') return '(bad)';
    const sp = n.indexOf(' ');
    return sp < 0 ? n + ' ' + mem : n.slice(0, sp) + ' ' + n.slice(sp + 1) + ' ptr ' + mem;
  }
  const i = modrm & 7;
  const st = 'st(' + i + ')';
  switch (op) {
    case 0xd8: return ARITH[reg] + ' st,' + st;
    case 0xd9:
      if (reg === 0) return 'fld ' + st;
      if (reg === 1) return 'fxch ' + st;
      return D9_REG[modrm] ?? '(bad)';
    case 0xda:
      if (modrm === 0xe9) return 'fucompp';
      return reg < 4 ? ['fcmovb', 'fcmove', 'fcmovbe', 'fcmovu'][reg] + ' st,' + st : '(bad)';
    case 0xdb:
      if (modrm === 0xe2) return 'fnclex';
      if (modrm === 0xe3) return 'fninit';
      if (reg < 4) return ['fcmovnb', 'fcmovne', 'fcmovnbe', 'fcmovnu'][reg] + ' st,' + st;
      if (reg === 5) return 'fucomi st,' + st;
      if (reg === 6) return 'fcomi st,' + st;
      return '(bad)';
    case 0xdc: return ARITH[reg ^ (reg >= 4 ? 1 : 0)] + ' ' + st + ',st';
    case 0xdd: return ['ffree ' + st, '(bad)', 'fst ' + st, 'fstp ' + st, 'fucom ' + st, 'fucomp ' + st, '(bad)', '(bad)'][reg];
    case 0xde:
      if (modrm === 0xd9) return 'fcompp';
      return ['faddp', 'fmulp', '(bad)', '(bad)', 'fsubrp', 'fsubp', 'fdivrp', 'fdivp'][reg] + ' ' + st + ',st';
    default:
      if (modrm === 0xe0) return 'fnstsw ax';
      if (reg === 5) return 'fucomip st,' + st;
      if (reg === 6) return 'fcomip st,' + st;
      return '(bad)';
  }
}

/** Disassemble one instruction at bytes[offset]. Never throws; undecodable bytes give "(bad)". */
export function disassemble(bytes: Uint8Array, offset: number, is32: boolean, address: number = offset): DisasmResult {
  const rd = new Reader(bytes, offset);
  try {
    let o32 = is32;
    let a32 = is32;
    let seg = '';
    let rep = 0;
    let lock = false;
    let b = rd.u8();
    for (let n = 0; n < 14; n++) {
      if (b === 0x66) o32 = !is32;
      else if (b === 0x67) a32 = !is32;
      else if (b === 0xf0) lock = true;
      else if (b === 0xf2 || b === 0xf3) rep = b;
      else if (b === 0x26 || b === 0x2e || b === 0x36 || b === 0x3e) seg = SREG[(b >> 3) & 3];
      else if (b === 0x64) seg = 'fs';
      else if (b === 0x65) seg = 'gs';
      else break;
      b = rd.u8();
    }
    let op = b;
    if (op === 0x0f) op = 0x100 | rd.u8();
    const cx: Ctx = { rd, o32, a32, seg, modrm: 0, memText: '' };
    const mr = HAS_MODRM[op];
    if (mr !== 0) {
      cx.modrm = rd.u8();
      if (cx.modrm < 0xc0 && mr === 1) decodeMem(cx);
    }
    const row = rowFor(op, (cx.modrm >> 3) & 7);
    if (row === undefined) return { text: '(bad)', length: rd.pos - offset };
    if (row.mnemonic === 'esc') return { text: fpuText(op, cx.modrm, cx.memText), length: rd.pos - offset };
    let mnem = row.mnemonic;
    const bar = mnem.indexOf('|');
    if (bar >= 0) mnem = o32 ? mnem.slice(bar + 1) : mnem.slice(0, bar);
    if (op === 0x90 && rep === 0xf3) mnem = 'pause';
    if (op === 0x11e && rep === 0xf3 && cx.modrm === 0xfb) return { text: 'endbr32', length: rd.pos - offset };
    const parts: string[] = [];
    const stringOp = row.rep !== 0;
    for (const code of row.operands) {
      if (stringOp) continue;
      if (code[0] === 'J') {
        const rel = code === 'Jb' ? rd.s8() : o32 ? rd.u32() | 0 : (rd.u16() << 16) >> 16;
        const target = address + (rd.pos - offset) + rel;
        parts.push(h(o32 ? target : target & 0xffff));
        continue;
      }
      parts.push(formatOperand(code, cx, () => op & 7));
    }
    let prefix = lock ? 'lock ' : '';
    if (stringOp && rep !== 0) prefix += row.rep === 2 ? (rep === 0xf3 ? 'repe ' : 'repne ') : 'rep ';
    const text = prefix + mnem + (parts.length > 0 ? ' ' + parts.join(',') : '');
    return { text, length: rd.pos - offset };
  } catch (e) {
    if (e instanceof OutOfBytes) return { text: '(bad)', length: Math.max(1, rd.pos - offset) };
    throw e;
  }
}
