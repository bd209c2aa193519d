/**
 * The WebAssembly twin of flags.ts `materialize`: folds the lazy flag state
 * (lop, ldst, lsrc, lres, lsz, lcin) into an EFLAGS image. Generated code
 * calls it where it reads flags that an earlier block (or the interpreter)
 * produced, since no single producer is known there.
 * Signature: (lop, ldst, lsrc, lres, lsz, lcin, flags) -> flags.
 */
import { FunctionBody, Op } from './wasm-emitter.ts';

const L_ADD = 1, L_ADC = 2, L_SUB = 3, L_SBB = 4, L_LOGIC = 5, L_INC = 6, L_DEC = 7;
const P_LOP = 0, P_DST = 1, P_SRC = 2, P_RES = 3, P_SZ = 4, P_CIN = 5, P_FLAGS = 6;
const SIGN = 7, CF = 8, OF = 9, AF = 10;
/** Locals beyond the seven parameters. */
export const FLAGS_HELPER_LOCALS = 4;
const ARITH = 0x8d5;

export function emitFlagsHelper(): FunctionBody {
  const f = new FunctionBody();
  const isOp = (k: number): void => { f.get(P_LOP); f.i32(k); f.op(Op.I32Eq); };
  // lop == 0: the image is current.
  f.get(P_LOP);
  f.op(Op.I32Eqz);
  f.if();
  f.get(P_FLAGS);
  f.op(Op.Return);
  f.end();
  // sign bit of the operand size
  // select(a, b, c) = c ? a : b
  f.i32(0x80000000 | 0);
  f.i32(0x80);
  f.i32(0x8000);
  f.get(P_SZ);
  f.op(Op.I32Eqz);
  f.op(Op.Select);
  f.get(P_SZ);
  f.i32(2);
  f.op(Op.I32Eq);
  f.op(Op.Select);
  f.set(SIGN);
  // CF
  const lt = (a: number, b: number, orEqualWhenCin: boolean): void => {
    if (orEqualWhenCin) {
      f.get(a); f.get(b); f.op(Op.I32LeU);
      f.get(a); f.get(b); f.op(Op.I32LtU);
      f.get(P_CIN);
      f.op(Op.Select);
    } else {
      f.get(a); f.get(b); f.op(Op.I32LtU);
    }
  };
  isOp(L_ADD); f.if(); lt(P_RES, P_DST, false); f.set(CF); f.end();
  isOp(L_ADC); f.if(); lt(P_RES, P_DST, true); f.set(CF); f.end();
  isOp(L_SUB); f.if(); lt(P_DST, P_SRC, false); f.set(CF); f.end();
  isOp(L_SBB); f.if(); lt(P_DST, P_SRC, true); f.set(CF); f.end();
  isOp(L_INC); f.if(); f.get(P_CIN); f.set(CF); f.end();
  isOp(L_DEC); f.if(); f.get(P_CIN); f.set(CF); f.end();
  f.get(P_LOP); f.i32(L_DEC); f.op(Op.I32GtU); f.if(); f.get(P_CIN); f.i32(1); f.op(Op.I32And); f.set(CF); f.end();
  // OF: add-like, sub-like, logic (0), result kinds (lcin bit 1)
  f.get(P_LOP); f.i32(L_ADD); f.op(Op.I32Eq); f.get(P_LOP); f.i32(L_ADC); f.op(Op.I32Eq); f.op(Op.I32Or); isOp(L_INC); f.op(Op.I32Or);
  f.if();
  f.get(P_DST); f.get(P_RES); f.op(Op.I32Xor); f.get(P_SRC); f.get(P_RES); f.op(Op.I32Xor); f.op(Op.I32And);
  f.get(SIGN); f.op(Op.I32And); f.i32(0); f.op(Op.I32Ne); f.set(OF);
  f.end();
  f.get(P_LOP); f.i32(L_SUB); f.op(Op.I32Eq); f.get(P_LOP); f.i32(L_SBB); f.op(Op.I32Eq); f.op(Op.I32Or); isOp(L_DEC); f.op(Op.I32Or);
  f.if();
  f.get(P_DST); f.get(P_SRC); f.op(Op.I32Xor); f.get(P_DST); f.get(P_RES); f.op(Op.I32Xor); f.op(Op.I32And);
  f.get(SIGN); f.op(Op.I32And); f.i32(0); f.op(Op.I32Ne); f.set(OF);
  f.end();
  f.get(P_LOP); f.i32(L_DEC); f.op(Op.I32GtU); f.if(); f.get(P_CIN); f.i32(1); f.op(Op.I32ShrU); f.i32(1); f.op(Op.I32And); f.set(OF); f.end();
  // AF: 0 for logic and result kinds
  f.get(P_LOP); f.i32(L_LOGIC); f.op(Op.I32LtU);
  f.get(P_LOP); f.i32(L_LOGIC); f.op(Op.I32GtU); f.get(P_LOP); f.i32(L_DEC); f.op(Op.I32LeU); f.op(Op.I32And);
  f.op(Op.I32Or);
  f.if();
  f.get(P_DST); f.get(P_SRC); f.op(Op.I32Xor); f.get(P_RES); f.op(Op.I32Xor); f.i32(4); f.op(Op.I32ShrU); f.i32(1); f.op(Op.I32And); f.set(AF);
  f.end();
  // Assemble: (flags & ~ARITH) | CF | PF<<2 | AF<<4 | ZF<<6 | SF<<7 | OF<<11
  f.get(P_FLAGS); f.i32(~ARITH); f.op(Op.I32And);
  f.get(CF); f.op(Op.I32Or);
  f.get(P_RES); f.i32(0xff); f.op(Op.I32And); f.op(Op.I32Popcnt); f.i32(1); f.op(Op.I32And); f.op(Op.I32Eqz); f.i32(2); f.op(Op.I32Shl); f.op(Op.I32Or);
  f.get(AF); f.i32(4); f.op(Op.I32Shl); f.op(Op.I32Or);
  f.get(P_RES); f.op(Op.I32Eqz); f.i32(6); f.op(Op.I32Shl); f.op(Op.I32Or);
  f.get(P_RES); f.get(SIGN); f.op(Op.I32And); f.i32(0); f.op(Op.I32Ne); f.i32(7); f.op(Op.I32Shl); f.op(Op.I32Or);
  f.get(OF); f.i32(11); f.op(Op.I32Shl); f.op(Op.I32Or);
  return f;
}
