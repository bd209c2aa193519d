/**
 * The eight classic ALU operations (ADD OR ADC SBB AND SUB XOR CMP, in
 * opcode order: the reg field of group 1 and bits 5:3 of opcodes 00-3F),
 * INC/DEC and NEG. They compute the result and record lazy flags (flags.ts).
 * `sz` is 0/1/2 for 8/16/32-bit operands; inputs need not be pre-masked.
 */
import type { CpuCore } from './state.ts';
import { L_ADC, L_ADD, L_DEC, L_INC, L_LOGIC, L_SBB, L_SUB, SZ_MASK, getCF } from './flags.ts';

export const ALU_ADD = 0;
export const ALU_OR = 1;
export const ALU_ADC = 2;
export const ALU_SBB = 3;
export const ALU_AND = 4;
export const ALU_SUB = 5;
export const ALU_XOR = 6;
export const ALU_CMP = 7;

/** Perform ALU op `kind` on a, b; returns the result (CMP returns a - b but callers do not store it). */
export function alu(c: CpuCore, kind: number, a: number, b: number, sz: number): number {
  const m = SZ_MASK[sz];
  a &= m;
  b &= m;
  let r: number;
  switch (kind) {
    case ALU_ADD:
      r = (a + b) & m;
      c.lop = L_ADD;
      break;
    case ALU_OR:
      r = a | b;
      c.lop = L_LOGIC;
      break;
    case ALU_ADC: {
      const cin = getCF(c);
      r = (a + b + cin) & m;
      c.lcin = cin;
      c.lop = L_ADC;
      break;
    }
    case ALU_SBB: {
      const cin = getCF(c);
      r = (a - b - cin) & m;
      c.lcin = cin;
      c.lop = L_SBB;
      break;
    }
    case ALU_AND:
      r = a & b;
      c.lop = L_LOGIC;
      break;
    case ALU_XOR:
      r = a ^ b;
      c.lop = L_LOGIC;
      break;
    default: // SUB, CMP
      r = (a - b) & m;
      c.lop = L_SUB;
      break;
  }
  c.ldst = a;
  c.lsrc = b;
  c.lres = r;
  c.lsz = sz;
  return r;
}

export function inc(c: CpuCore, a: number, sz: number): number {
  const m = SZ_MASK[sz];
  const cf = getCF(c);
  a &= m;
  const r = (a + 1) & m;
  c.lcin = cf;
  c.lop = L_INC;
  c.ldst = a;
  c.lsrc = 1;
  c.lres = r;
  c.lsz = sz;
  return r;
}

export function dec(c: CpuCore, a: number, sz: number): number {
  const m = SZ_MASK[sz];
  const cf = getCF(c);
  a &= m;
  const r = (a - 1) & m;
  c.lcin = cf;
  c.lop = L_DEC;
  c.ldst = a;
  c.lsrc = 1;
  c.lres = r;
  c.lsz = sz;
  return r;
}

/** NEG: 0 - a, CF = (a != 0) falls out of the SUB formula. */
export function neg(c: CpuCore, a: number, sz: number): number {
  return alu(c, ALU_SUB, 0, a, sz);
}

/** TEST / AND flags without a result. */
export function testOp(c: CpuCore, a: number, b: number, sz: number): void {
  const m = SZ_MASK[sz];
  c.lop = L_LOGIC;
  c.lres = a & b & m;
  c.lsz = sz;
  c.ldst = a & m;
  c.lsrc = b & m;
}
