/**
 * Runs a decoded block (block-decode.ts, block-cache.ts). Each record's fast
 * path is the interpreter's inline fast path for that form, under the same
 * conditions (a segment that needs no checks, TLB hit, within the page),
 * and completes the instruction before touching anything it would have to
 * undo; when a condition fails it leaves the switch and the instruction
 * runs through its complete handler, exactly as the interpreter would run
 * it. Result-only records (K_NF_*) have no slow case.
 *
 * A block stops after any instruction that ran its complete handler and
 * left `c.events` set (an interrupt, a single-step trap, a stop request, or
 * code of this cache invalidated: paging.ts sets it then) or left the
 * straight line (a handler that jumped, stopped partway or reloaded the code
 * page). Only those can set events: the fast paths touch nothing but
 * registers, flags and TLB-cached memory. On exit `c.fp` points at the
 * next instruction to run.
 */
import type { CpuCore } from './state.ts';
import { TLB_MASK } from './state.ts';
import { L_ADD, L_LOGIC, L_SUB, testCC } from './flags.ts';
import { alu, inc, dec, testOp } from './alu.ts';
import { shiftOp } from './shift.ts';
import { imul2 } from './muldiv.ts';
import { getReg8, setReg8 } from './operands.ts';
import { jumpTo } from './fetch.ts';
import { GUEST_FAULT } from './exceptions.ts';
import type { BlockCache } from './block-cache.ts';

/*
 * The record layout. Plain module constants, exported only as one object
 * (BLOCK_FORMAT, for the decoder): as `export const`s V8 kept them in module
 * cells, so the switch below had no jump table and every field offset was a
 * load (45 against 70 M instr/s on the mixed loop). Imported constants used
 * inside the cases measured no different.
 */
/** The block cache's hash slots (block-cache.ts): SLOT int32 each, these fields. */
const SLOT = 8;
const S_KEY = 0;
const S_GEN = 1;
const S_COUNT = 2;
const S_FIRST = 3;
const S_END = 4;
/** Int32 fields per record. */
const REC = 10;
/** Record fields: kind, host offset of the instruction, host offset of the next one. */
const F_KIND = 0;
const F_P = 1;
const F_NEXT = 2;
/** Kind-specific: a register, a condition code, an ALU operation, the opcode... */
const F_X = 3;
const F_Y = 4;
const F_DISP = 5;
const F_IMM = 6;
/** Memory operand: base | index << 4 | scale << 8 | segment << 12 | SIB base ESP << 16 (NO_REG: none). */
const F_MEM = 7;
const NO_REG = 8;
/** The instruction for its complete handler: op | ModRM << 9 | has a memory operand << 17; host offset of its immediates. */
const F_OP = 8;
const F_IMM_AT = 9;
const OP_HAS_MEM = 1 << 17;

/** Record kinds, dense so the runner's switch becomes a jump table. */
/**
 * Memory access of a record's fast path, in its kind word above the kind
 * (kind | access): read or write permission, an ESP-based stack slot (which
 * needs a 32-bit stack), and the access size - 1.
 */
const ACC_READ = 0x100;
const ACC_WRITE = 0x200;
const ACC_STACK = 0x400;
const ACC_SIZE_SHIFT = 11;
/** Above these: what the access needs of the segments (CpuCore.segOkBits bits, all required for the fast path). */
const ACC_NEEDS_SHIFT = 16;
const K_GENERIC = 0; // only the complete handler (F_OP, F_IMM_AT)
const K_MOV_RR = 1; // r[x] = r[y]
const K_LOAD = 2; // r[x] = [mem]
const K_STORE = 3; // [mem] = r[x]
const K_MOV_RI = 4; // r[x] = imm
const K_STORE_I = 5; // [mem] = imm
const K_ALU_RR = 6; // r[x] = r[x] op(y) r[imm]   (ADD OR ADC SBB AND SUB XOR CMP)
const K_ALU_RM = 7; // r[x] = r[x] op(y) [mem]
const K_ALU_MR = 8; // [mem] = [mem] op(y) r[x]
const K_ALU_RI = 9; // r[x] = r[x] op(y) imm
const K_ALU_MI = 10; // [mem] = [mem] op(y) imm
const K_TEST_RR = 11; // r[x] & r[y]
const K_TEST_RI = 12; // r[x] & imm
const K_LEA = 13; // r[x] = address
const K_PUSH_R = 14;
const K_POP_R = 15;
const K_PUSH_I = 16;
const K_INC_R = 17;
const K_DEC_R = 18;
const K_MOVZX8_R = 19; // r[x] = byte register y
const K_MOVZX8_M = 20; // r[x] = byte [mem]
const K_MOVZX16_M = 21; // r[x] = word [mem]
const K_SHIFT_RI = 22; // r[x] = shift(y)(r[x], imm)
const K_JCC = 23; // cc x, target next + imm
const K_JMP = 24; // target next + imm
const K_CALL = 25; // push next, target next + imm
const K_RET = 26;
const K_CMOV_RR = 27; // cc y: r[x] = r[imm]
const K_SETCC_R = 28; // cc y: byte register x
const K_TEST_RM = 29; // [mem] & r[x]
const K_CMP_MI = 30; // [mem] - imm, flags only (y = CMP)
const K_LOAD8 = 31; // byte register x = [mem]
const K_STORE8 = 32; // [mem] = byte register x
const K_IMUL_RI = 33; // r[x] = r[y] * imm (IMUL r32, r/m32, imm: flags as the interpreter sets them)
const K_IMUL_MI = 34; // r[x] = [mem] * imm
const K_IMUL_RR = 35; // r[x] = r[x] * r[y]
/**
 * CMP or TEST of registers (x, and imm: a register for _RR, the immediate
 * for _RI) directly followed by a Jcc: one record for both, the Jcc's own
 * record next (its condition, target and address), skipped when this one
 * runs. A fused CMP's y is its condition as a mask over the relation of
 * the operands (block-decode.ts, CMP_RELATION_MASK).
 */
const K_CMP_JCC_RR = 36;
const K_CMP_JCC_RI = 37;
const K_TEST_JCC_RR = 71; // after K_NF_RI + NF_NONE
const K_TEST_JCC_RI = K_TEST_JCC_RR + 1;
/** CALL rel32 to the same page, whose block goes on with the callee's instructions (target host offset x). */
const K_CALL_IN = 38;
/** The RET of such a callee: when it pops the address its CALL pushed, the block goes on at host offset x. */
const K_RET_IN = 39;
/**
 * A register ALU, INC/DEC, SHL/SHR/SAR, IMUL or TEST whose flags nothing
 * reads: a later instruction of the block overwrites all six before any
 * reader and nothing in between can fault (block-decode.ts, deadFlags).
 * Kind K_NF_RR + op or K_NF_RI + op, one case each (no second dispatch):
 * r[x] = r[disp] op b, b = r[imm] (RR) or imm (RI).
 */
const K_NF_RR = 40;
const K_NF_RI = 56;
/** Their operations: the ALU's ADD OR - - AND SUB XOR (CMP: NF_NONE), then: */
const NF_INC = 8;
const NF_DEC = 9;
const NF_SHL = 10;
const NF_SHR = 11;
const NF_SAR = 12;
const NF_IMUL = 13;
const NF_NONE = 14;

/** The record layout for block-decode.ts and block-cache.ts. */
export const BLOCK_FORMAT = {
  SLOT, S_KEY, S_GEN, S_COUNT, S_FIRST, S_END, ACC_READ, ACC_WRITE, ACC_STACK, ACC_SIZE_SHIFT, ACC_NEEDS_SHIFT, REC, F_KIND, F_P, F_NEXT, F_X, F_Y, F_DISP, F_IMM, F_MEM, NO_REG, F_OP, F_IMM_AT, OP_HAS_MEM, K_GENERIC, K_MOV_RR, K_LOAD, K_STORE, K_MOV_RI, K_STORE_I, K_ALU_RR, K_ALU_RM, K_ALU_MR, K_ALU_RI, K_ALU_MI, K_TEST_RR, K_TEST_RI, K_LEA, K_PUSH_R, K_POP_R, K_PUSH_I, K_INC_R, K_DEC_R, K_MOVZX8_R, K_MOVZX8_M, K_MOVZX16_M, K_SHIFT_RI, K_JCC, K_JMP, K_CALL, K_RET, K_CMOV_RR, K_SETCC_R, K_TEST_RM, K_CMP_MI, K_LOAD8, K_STORE8, K_IMUL_RI, K_IMUL_MI, K_IMUL_RR, K_CALL_IN, K_RET_IN, K_CMP_JCC_RR, K_CMP_JCC_RI, K_TEST_JCC_RR, K_TEST_JCC_RI, K_NF_RR, K_NF_RI, NF_INC, NF_DEC, NF_SHL, NF_SHR, NF_SAR, NF_IMUL, NF_NONE,
};

/** The block cache's hash: the top HASH_BITS bits of p * 2^32/phi (block-cache.ts sizes its tables by it). */
export const BLOCK_HASH_BITS = 16;
const HASH_SHIFT = 32 - BLOCK_HASH_BITS;
const HASH_MULTIPLIER = 0x9e3779b1 | 0;

/** Hash slot of the block starting at host offset p. */
export function blockSlot(p: number): number {
  return Math.imul(p, HASH_MULTIPLIER) >>> HASH_SHIFT;
}

/** One opcode (family): `op` is in the 0x000-0x1FF space, `modrm` decoded (c.ea/c.eaSeg set for memory forms). */
export type Handler = (c: CpuCore, op: number, modrm: number) => void;

/** Offset of a memory operand (F_MEM, F_DISP) from the current registers. */
function effectiveAddress(r: Int32Array, m: number, disp: number): number {
  // A missing base or index is NO_REG, which names regs[8]: always 0.
  return (disp + r[m & 15]! + (r[(m >> 4) & 15]! << ((m >> 8) & 3))) | 0;
}

/** ALU operation k on a and b with the interpreter's lazy flags: returns the result (CMP's is not stored); ADC/SBB through alu(). */
function aluOp(c: CpuCore, a: number, k: number, b: number): number {
  let res: number;
  if (k === 0) { res = (a + b) | 0; c.lop = L_ADD; }
  else if (k === 5 || k === 7) { res = (a - b) | 0; c.lop = L_SUB; }
  else if (k === 2 || k === 3) return alu(c, k, a, b, 2) | 0;
  else { res = k === 6 ? a ^ b : k === 4 ? a & b : a | b; c.lop = L_LOGIC; }
  c.ldst = a; c.lsrc = b; c.lres = res; c.lsz = 2;
  return res;
}

/**
 * Condition code cc, with the interpreter's shortcut for ZF after an
 * arithmetic op, and testCC's for CF (B/AE) after a CMP or SUB here
 * (testCC is too large to inline: the call cost 3-5% of the mixed loop).
 */
function condition(c: CpuCore, cc: number): boolean {
  if ((cc === 4 || cc === 5) && c.lop !== 0) return (c.lres === 0) === (cc === 4);
  if ((cc === 2 || cc === 3) && c.lop === L_SUB) return ((c.ldst >>> 0) < (c.lsrc >>> 0)) === (cc === 2);
  return testCC(c, cc);
}

/** Continue at host offset `next` + `rel`: on the cached page directly, else through jumpTo (which may #GP). */
function branch(c: CpuCore, o: Int32Array, w: number, rel: number): void {
  const next = o[w + F_NEXT]!;
  const t = (next + rel) | 0;
  if (t >= c.fpStart && t < c.fpEnd) {
    c.fp = t;
    return;
  }
  c.eipStart = (o[w + F_P]! + c.fpEipBase) | 0;
  c.fp = next;
  jumpTo(c, (t + c.fpEipBase) | 0);
}

/** RET to `t`, popped from the stack: continue there (jumpTo may #GP, before ESP changes). */
function ret(c: CpuCore, o: Int32Array, w: number, t: number): void {
  const np = (t - c.fpEipBase) | 0;
  if (np >= c.fpStart && np < c.fpEnd) {
    c.fp = np;
  } else {
    c.eipStart = (o[w + F_P]! + c.fpEipBase) | 0;
    c.fp = o[w + F_NEXT]!;
    jumpTo(c, t);
  }
  c.regs[4] = (c.regs[4]! + 4) | 0;
}

/**
 * Run the block in hash slot `slot` of `cache`, then the blocks that follow it
 * while they are decoded, current and fit in `left` instructions (a chain
 * never returns to the interpreter's loop between blocks). `doneBase`: the
 * instructions this run retired before (the clock reads it). Returns the
 * instructions retired; a guest fault propagates with cache.faultDone set
 * to the instructions completed before the faulting one.
 */
export function runBlocks(c: CpuCore, cache: BlockCache, slot: number, left: number, doneBase: number, handlers: readonly Handler[]): number {
  const o = cache.ops;
  const slots = cache.slots;
  const r = c.regs;
  let total = 0;
  let first = 0; // the running block's first record: (w - first) / REC instructions of it are done
  let w = 0;
  try {
    for (;;) {
      first = slots[slot * SLOT + S_FIRST]!;
      w = first;
      const end = first + slots[slot * SLOT + S_COUNT]! * REC;
      run: {
        for (; w < end; w += REC) {
          // The memory operand, when the record has one the fast path may use:
          // its host offset if the segment needs no checks and the TLB holds
          // the page with the permission needed, else -1.
          const kw = o[w + F_KIND]!;
          let h = -1;
          const needs = kw >>> ACC_NEEDS_SHIFT;
          if (needs !== 0 && (c.segOkBits & needs) === needs) {
            const m = o[w + F_MEM]!;
            const lin = effectiveAddress(r, m, o[w + F_DISP]!); // segOkBits: a zero base
            const vp = lin >>> 12;
            const t = vp & TLB_MASK;
            if (((kw & ACC_WRITE) !== 0 ? c.tlbWr[t] : c.tlbRd[t]) === (vp | c.tlbKey) && (lin & 0xfff) <= 0xfff - ((kw >> ACC_SIZE_SHIFT) & 3)) {
              h = (lin + c.tlbDelta[t]!) | 0;
            }
          }
          switch (kw & 0xff) {
            case K_MOV_RR:
              r[o[w + F_X]!] = r[o[w + F_Y]!]!;
              continue;
            case K_LOAD: {
              if (h < 0) break;
              r[o[w + F_X]!] = c.dv.getInt32(h, true);
              continue;
            }
            case K_STORE: {
              if (h < 0) break;
              c.dv.setInt32(h, r[o[w + F_X]!]!, true);
              continue;
            }
            case K_MOV_RI:
              r[o[w + F_X]!] = o[w + F_IMM]!;
              continue;
            case K_STORE_I: {
              if (h < 0) break;
              c.dv.setInt32(h, o[w + F_IMM]!, true);
              continue;
            }
            case K_ALU_RR: case K_ALU_RI: case K_ALU_RM: {
              // aluOp() inline, for the three register-destination forms: calling it here measured 4-9% slower
              // on the mixed loop (V8's inlining budget is per function, and this one is large).
              let b: number;
              if ((kw & 0xff) === K_ALU_RR) b = r[o[w + F_IMM]!]!;
              else if ((kw & 0xff) === K_ALU_RI) b = o[w + F_IMM]!;
              else if (h >= 0) b = c.dv.getInt32(h, true);
              else break;
              const x = o[w + F_X]!;
              const k = o[w + F_Y]!;
              const a = r[x]!;
              let res: number;
              if (k === 0) { res = (a + b) | 0; c.lop = L_ADD; }
              else if (k === 5 || k === 7) { res = (a - b) | 0; c.lop = L_SUB; }
              else if (k === 2 || k === 3) { r[x] = alu(c, k, a, b, 2); continue; }
              else { res = k === 6 ? a ^ b : k === 4 ? a & b : a | b; c.lop = L_LOGIC; }
              c.ldst = a; c.lsrc = b; c.lres = res; c.lsz = 2;
              if (k !== 7) r[x] = res;
              continue;
            }
            case K_ALU_MR: {
              if (h < 0) break;
              const k = o[w + F_Y]!;
              const res = aluOp(c, c.dv.getInt32(h, true), k, r[o[w + F_X]!]!);
              if (k !== 7) c.dv.setInt32(h, res, true);
              continue;
            }
            case K_ALU_MI: {
              if (h < 0) break;
              c.dv.setInt32(h, aluOp(c, c.dv.getInt32(h, true), o[w + F_Y]!, o[w + F_IMM]!), true);
              continue;
            }
            case K_CMP_MI: {
              if (h < 0) break;
              aluOp(c, c.dv.getInt32(h, true), 7, o[w + F_IMM]!);
              continue;
            }
            case K_TEST_RR: {
              // TEST r/m32, r32: the r/m operand is the destination of the lazy flags (as the interpreter records it).
              const a = r[o[w + F_Y]!]!;
              const b = r[o[w + F_X]!]!;
              c.lop = L_LOGIC; c.ldst = a; c.lsrc = b; c.lres = a & b; c.lsz = 2;
              continue;
            }
            case K_TEST_RM: {
              if (h < 0) break;
              const a = c.dv.getInt32(h, true);
              const b = r[o[w + F_X]!]!;
              c.lop = L_LOGIC; c.ldst = a; c.lsrc = b; c.lres = a & b; c.lsz = 2;
              continue;
            }
            case K_TEST_RI:
              testOp(c, r[o[w + F_X]!]!, o[w + F_IMM]!, 2);
              continue;
            case K_LEA:
              r[o[w + F_X]!] = effectiveAddress(r, o[w + F_MEM]!, o[w + F_DISP]!);
              continue;
            case K_PUSH_R: {
              if (h < 0) break;
              c.dv.setInt32(h, r[o[w + F_X]!]!, true);
              r[4] = (r[4]! - 4) | 0;
              continue;
            }
            case K_PUSH_I: {
              if (h < 0) break;
              c.dv.setInt32(h, o[w + F_IMM]!, true);
              r[4] = (r[4]! - 4) | 0;
              continue;
            }
            case K_POP_R: {
              if (h < 0) break;
              const v = c.dv.getInt32(h, true);
              r[4] = (r[4]! + 4) | 0;
              r[o[w + F_X]!] = v;
              continue;
            }
            case K_INC_R: {
              const x = o[w + F_X]!;
              r[x] = inc(c, r[x]!, 2);
              continue;
            }
            case K_DEC_R: {
              const x = o[w + F_X]!;
              r[x] = dec(c, r[x]!, 2);
              continue;
            }
            case K_MOVZX8_R:
              r[o[w + F_X]!] = getReg8(c, o[w + F_Y]!);
              continue;
            case K_MOVZX8_M: {
              if (h < 0) break;
              r[o[w + F_X]!] = c.mem8[h]!;
              continue;
            }
            case K_MOVZX16_M: {
              if (h < 0) break;
              r[o[w + F_X]!] = c.dv.getUint16(h, true);
              continue;
            }
            case K_LOAD8: {
              if (h < 0) break;
              setReg8(c, o[w + F_X]!, c.mem8[h]!);
              continue;
            }
            case K_STORE8: {
              if (h < 0) break;
              c.mem8[h] = getReg8(c, o[w + F_X]!);
              continue;
            }
            case K_IMUL_RI:
              r[o[w + F_X]!] = imul2(c, r[o[w + F_Y]!]!, o[w + F_IMM]!, 2);
              continue;
            case K_IMUL_MI:
              if (h < 0) break;
              r[o[w + F_X]!] = imul2(c, c.dv.getInt32(h, true), o[w + F_IMM]!, 2);
              continue;
            case K_IMUL_RR: {
              const x = o[w + F_X]!;
              r[x] = imul2(c, r[x]!, r[o[w + F_Y]!]!, 2);
              continue;
            }
            case K_NF_RR: r[o[w + F_X]!] = (r[o[w + F_DISP]!]! + r[o[w + F_IMM]!]!) | 0; continue;
            case K_NF_RR + 1: r[o[w + F_X]!] = r[o[w + F_DISP]!]! | r[o[w + F_IMM]!]!; continue;
            case K_NF_RR + 4: r[o[w + F_X]!] = r[o[w + F_DISP]!]! & r[o[w + F_IMM]!]!; continue;
            case K_NF_RR + 5: r[o[w + F_X]!] = (r[o[w + F_DISP]!]! - r[o[w + F_IMM]!]!) | 0; continue;
            case K_NF_RR + 6: r[o[w + F_X]!] = r[o[w + F_DISP]!]! ^ r[o[w + F_IMM]!]!; continue;
            case K_NF_RR + NF_IMUL: r[o[w + F_X]!] = Math.imul(r[o[w + F_DISP]!]!, r[o[w + F_IMM]!]!); continue;
            case K_NF_RI: r[o[w + F_X]!] = (r[o[w + F_DISP]!]! + o[w + F_IMM]!) | 0; continue;
            case K_NF_RI + 1: r[o[w + F_X]!] = r[o[w + F_DISP]!]! | o[w + F_IMM]!; continue;
            case K_NF_RI + 4: r[o[w + F_X]!] = r[o[w + F_DISP]!]! & o[w + F_IMM]!; continue;
            case K_NF_RI + 5: r[o[w + F_X]!] = (r[o[w + F_DISP]!]! - o[w + F_IMM]!) | 0; continue;
            case K_NF_RI + 6: r[o[w + F_X]!] = r[o[w + F_DISP]!]! ^ o[w + F_IMM]!; continue;
            case K_NF_RI + NF_INC: r[o[w + F_X]!] = (r[o[w + F_DISP]!]! + 1) | 0; continue;
            case K_NF_RI + NF_DEC: r[o[w + F_X]!] = (r[o[w + F_DISP]!]! - 1) | 0; continue;
            case K_NF_RI + NF_SHL: r[o[w + F_X]!] = r[o[w + F_DISP]!]! << o[w + F_IMM]!; continue;
            case K_NF_RI + NF_SHR: r[o[w + F_X]!] = r[o[w + F_DISP]!]! >>> o[w + F_IMM]!; continue;
            case K_NF_RI + NF_SAR: r[o[w + F_X]!] = r[o[w + F_DISP]!]! >> o[w + F_IMM]!; continue;
            case K_NF_RI + NF_IMUL: r[o[w + F_X]!] = Math.imul(r[o[w + F_DISP]!]!, o[w + F_IMM]!); continue;
            case K_NF_RR + NF_NONE: case K_NF_RI + NF_NONE: continue; // CMP, TEST: flags only
            case K_SHIFT_RI: {
              const x = o[w + F_X]!;
              r[x] = shiftOp(c, o[w + F_Y]!, r[x]!, o[w + F_IMM]!, 2);
              continue;
            }
            case K_CMOV_RR:
              if (condition(c, o[w + F_Y]!)) r[o[w + F_X]!] = r[o[w + F_IMM]!]!;
              continue;
            case K_SETCC_R:
              setReg8(c, o[w + F_X]!, condition(c, o[w + F_Y]!) ? 1 : 0);
              continue;
            case K_CMP_JCC_RR: case K_CMP_JCC_RI: {
              const a = r[o[w + F_X]!]!;
              const b = (kw & 0xff) === K_CMP_JCC_RR ? r[o[w + F_IMM]!]! : o[w + F_IMM]!;
              c.lop = L_SUB; c.ldst = a; c.lsrc = b; c.lres = (a - b) | 0; c.lsz = 2;
              // The condition as a bit of its mask (F_Y, from the decoder) over the relation of a to b.
              const taken = o[w + F_Y]! >> (((a >>> 0) < (b >>> 0) ? 1 : 0) | (a === b ? 2 : 0) | (a < b ? 4 : 0));
              w += REC; // the CMP is done; on to the Jcc's record
              if ((taken & 1) === 0) continue;
              branch(c, o, w, o[w + F_IMM]!);
              w += REC;
              break run;
            }
            case K_TEST_JCC_RR: case K_TEST_JCC_RI: {
              const a = r[o[w + F_X]!]!;
              const b = (kw & 0xff) === K_TEST_JCC_RR ? r[o[w + F_IMM]!]! : o[w + F_IMM]!;
              c.lop = L_LOGIC; c.ldst = a; c.lsrc = b; c.lres = a & b; c.lsz = 2;
              w += REC; // the TEST is done; on to the Jcc's record
              if (!condition(c, o[w + F_X]!)) continue;
              branch(c, o, w, o[w + F_IMM]!);
              w += REC;
              break run;
            }
            case K_JCC: {
              if (!condition(c, o[w + F_X]!)) continue; // the block goes on with the next instruction
              branch(c, o, w, o[w + F_IMM]!);
              w += REC;
              break run;
            }
            case K_JMP:
              branch(c, o, w, o[w + F_IMM]!);
              w += REC;
              break run;
            case K_CALL: {
              if (h < 0) break;
              const ret = (o[w + F_NEXT]! + c.fpEipBase) | 0;
              branch(c, o, w, o[w + F_IMM]!); // may #GP: nothing written yet
              c.dv.setInt32(h, ret, true);
              r[4] = (r[4]! - 4) | 0;
              w += REC;
              break run;
            }
            case K_CALL_IN: {
              // The callee's records follow: push the return address and go on (the complete handler, if
              // the stack slot needs it, jumps and so ends the block).
              if (h < 0 || o[w + F_X]! < c.fpStart) break;
              c.dv.setInt32(h, (o[w + F_NEXT]! + c.fpEipBase) | 0, true);
              r[4] = (r[4]! - 4) | 0;
              continue;
            }
            case K_RET_IN: {
              if (h < 0) break;
              const t = c.dv.getInt32(h, true);
              const x = o[w + F_X]!;
              if (t === ((x + c.fpEipBase) | 0)) {
                r[4] = (r[4]! + 4) | 0;
                continue;
              }
              ret(c, o, w, t); // the callee changed its return address
              w += REC;
              break run;
            }
            case K_RET: {
              if (h < 0) break;
              ret(c, o, w, c.dv.getInt32(h, true));
              w += REC;
              break run;
            }
            default:
              break;
          }
          // The complete handler, as the interpreter calls it after decoding.
          const opm = o[w + F_OP]!;
          const op = opm & 0x1ff;
          if ((opm & OP_HAS_MEM) !== 0) {
            const m = o[w + F_MEM]!;
            c.ea = effectiveAddress(r, m, o[w + F_DISP]!);
            c.eaSeg = (m >> 12) & 7;
            c.sibBaseEsp = (m & 0x10000) !== 0;
          }
          c.eipStart = (o[w + F_P]! + c.fpEipBase) | 0;
          c.fp = o[w + F_IMM_AT]!;
          c.runRetired = doneBase + total + ((w - first) / REC | 0);
          handlers[op]!(c, op, (opm >> 9) & 0xff);
          if (c.fp !== o[w + F_NEXT]! || c.events !== 0) {
            w += REC;
            break run;
          }
        }
        c.fp = o[w - REC + F_NEXT]!; // ran to its end
      }
      total += (w - first) / REC | 0;
      // Chain to the next block when nothing is pending and it is ready.
      if (c.events !== 0 || c.pfx !== 0 || !c.cs32) return total;
      const p = c.fp;
      if (p >= c.fpEnd) return total;
      slot = Math.imul(p, HASH_MULTIPLIER) >>> HASH_SHIFT; // blockSlot(p)
      const at = slot * SLOT;
      if (slots[at + S_KEY] !== p || slots[at + S_GEN] !== cache.frameGen[p >>> 12] || slots[at + S_END]! > c.fpEnd) return total;
      const m = slots[at + S_COUNT]!;
      if (m === 0 || m > left - total) return total;
    }
  } catch (e) {
    if (e === GUEST_FAULT) cache.faultDone = total + ((w - first) / REC | 0);
    else c.eipStart = (o[w + F_P]! + c.fpEipBase) | 0; // an emulator bug: the host error names this instruction
    throw e;
  }
}
