/**
 * Decoding for the block tier (block-cache.ts): turns the instructions at a
 * host offset into fixed-size records once, so that running them again skips
 * fetching, prefix and ModRM/SIB decoding and the opcode dispatch.
 *
 * Only 32-bit code without prefixes is taken: what Linux and its userland run
 * nearly all the time. A block ends before the first instruction that has a
 * prefix, is not a valid opcode, or does not fit in the code page; after the
 * first instruction that may change the flow (the opcode table's `branch`
 * rows) other than a conditional branch (Jcc leaves the block when taken and
 * runs on when not), a CALL to the same page (the block goes on with the
 * callee) or that callee's RET (the block goes on at the return address
 * when the RET pops the one its CALL pushed); or at MAX_BLOCK_INSNS.
 *
 * The hottest forms get a record kind of their own, which block-run.ts runs
 * inline when its fast conditions hold (a segment that needs no checks, a
 * TLB hit...); every record also names its opcode, ModRM and immediates, so
 * anything else (K_GENERIC records, and the slow cases of the others) runs
 * through the interpreter's own complete handler with the decoding done in
 * advance.
 */
import { HAS_MODRM, OPCODE_VALID, ROW_BY_OPCODE } from './opcode-table.ts';
import { IS_PREFIX } from './decoder.ts';
import { S_DS, S_SS } from './constants.ts';
import { SEG_OK_SS32 } from './segmentation.ts';
import { BLOCK_FORMAT } from './block-run.ts';
import { decodeMemOperand32, read32, type MemOperand32 } from './mem-operand32.ts';

export const MAX_BLOCK_INSNS = 32;

/** Calls to the same page a block follows into their callee, nested at most. */
const MAX_CALL_DEPTH = 8;
const returnTo = new Int32Array(MAX_CALL_DEPTH);

/** Scratch for decodeMemOperand32 (decoding allocates nothing per instruction). */
const operand: MemOperand32 = { base: -1, index: -1, scale: 0, disp: 0, ssDefault: false, sibBaseEsp: false };

const {
  ACC_READ, ACC_WRITE, ACC_STACK, ACC_SIZE_SHIFT, ACC_NEEDS_SHIFT, REC, F_KIND, F_P, F_NEXT, F_X, F_Y, F_DISP, F_IMM, F_MEM, NO_REG, F_OP, F_IMM_AT, OP_HAS_MEM, K_GENERIC, K_MOV_RR, K_LOAD, K_STORE, K_MOV_RI, K_STORE_I, K_ALU_RR, K_ALU_RM, K_ALU_MR, K_ALU_RI, K_ALU_MI, K_TEST_RR, K_TEST_RI, K_LEA, K_PUSH_R, K_POP_R, K_PUSH_I, K_INC_R, K_DEC_R, K_MOVZX8_R, K_MOVZX8_M, K_MOVZX16_M, K_SHIFT_RI, K_JCC, K_JMP, K_CALL, K_RET, K_CMOV_RR, K_SETCC_R, K_TEST_RM, K_CMP_MI, K_LOAD8, K_STORE8, K_IMUL_RI, K_IMUL_MI, K_IMUL_RR, K_CALL_IN, K_RET_IN, K_CMP_JCC_RR, K_CMP_JCC_RI, K_TEST_JCC_RR, K_TEST_JCC_RI, K_NF_RR, K_NF_RI, NF_INC, NF_DEC, NF_SHL, NF_SHR, NF_SAR, NF_IMUL, NF_NONE,
} = BLOCK_FORMAT;

/** Immediate bytes per opcode * 8 + reg in 32-bit code (operand and address size 32), from the opcode table's operand codes. */
const IMM_BYTES = new Uint8Array(512 * 8);
for (let i = 0; i < 512 * 8; i++) {
  const row = ROW_BY_OPCODE[i];
  if (row === undefined || row.rep !== 0 || row.mnemonic === 'esc') continue;
  let n = 0;
  for (const code of row.operands) {
    if (code === 'Ib' || code === 'Ibs' || code === 'Jb') n += 1;
    else if (code === 'Iw') n += 2;
    else if (code[0] === 'I' || code[0] === 'J' || code[0] === 'O') n += 4;
    else if (code[0] === 'A') n += 6;
  }
  IMM_BYTES[i] = n;
}

/** Whether opcode `op` (with ModRM reg `reg`) may change the flow of control or the mode: it ends a block. */
function endsBlock(op: number, reg: number): boolean {
  return ROW_BY_OPCODE[op * 8 + reg]!.branch;
}

/**
 * Decode the block at host offset `p` into `ops` from record index `at`;
 * bytes from `end` on belong to another page. Returns the number of records
 * (instructions) written, 0 when the first instruction cannot be taken.
 */
export function decodeBlock(mem8: Uint8Array, p: number, end: number, ops: Int32Array, at: number): number {
  let n = 0;
  let calls = 0; // calls the block went into whose RET it has not reached (their return offsets: returnTo)
  let w = at * REC;
  while (n < MAX_BLOCK_INSNS) {
    const start = p;
    if (p >= end) break;
    let op = mem8[p++]!;
    if (IS_PREFIX[op] !== 0) break;
    if (op === 0x0f) {
      if (p >= end) break;
      op = 0x100 | mem8[p++]!;
    }
    if (OPCODE_VALID[op] === 0) break;
    let modrm = -1;
    let reg = 0;
    let mem = NO_REG | (NO_REG << 4);
    let disp = 0;
    let hasMem = false;
    const info = HAS_MODRM[op];
    if (info !== 0) {
      if (p >= end) break;
      modrm = mem8[p++]!;
      reg = (modrm >> 3) & 7;
      if (ROW_BY_OPCODE[op * 8 + reg] === undefined) break; // an undefined group member: the interpreter raises #UD
      if (modrm < 0xc0 && info === 1) {
        hasMem = true;
        p = decodeMemOperand32(mem8, p, end, modrm, operand);
        if (p < 0) break;
        const base = operand.base < 0 ? NO_REG : operand.base;
        const index = operand.index < 0 ? NO_REG : operand.index;
        const seg = operand.ssDefault ? S_SS : S_DS;
        disp = operand.disp;
        mem = base | (index << 4) | (operand.scale << 8) | (seg << 12) | ((operand.sibBaseEsp ? 1 : 0) << 16);
      }
    } else if (ROW_BY_OPCODE[op * 8] === undefined) {
      break;
    }
    const immAt = p;
    const immLen = IMM_BYTES[op * 8 + reg]!;
    if (p + immLen > end) break;
    p += immLen;
    const imm = immLen === 1 ? (mem8[immAt]! << 24) >> 24 : immLen === 2 ? mem8[immAt]! | (mem8[immAt + 1]! << 8) : immLen >= 4 ? read32(mem8, immAt) : 0;
    ops[w + F_P] = start;
    ops[w + F_NEXT] = p;
    ops[w + F_DISP] = disp;
    ops[w + F_IMM] = imm;
    ops[w + F_MEM] = mem;
    ops[w + F_X] = 0;
    ops[w + F_Y] = 0;
    ops[w + F_OP] = op | ((modrm < 0 ? 0 : modrm) << 9) | (hasMem ? OP_HAS_MEM : 0);
    ops[w + F_IMM_AT] = immAt;
    const kind = specialKind(op, modrm, reg, hasMem, ops, w);
    if (kind < 0) {
      ops[w + F_KIND] = K_GENERIC;
    } else {
      const acc = access(kind, ops, w);
      ops[w + F_KIND] = kind | acc | (segmentNeeds(acc, ops[w + F_MEM]!) << ACC_NEEDS_SHIFT);
    }
    n++;
    w += REC;
    if (kind === K_CALL) {
      // A call to the same page: the block goes on with the callee.
      const target = (p + imm) | 0;
      if (target >= (start & ~0xfff) && target < end && calls < MAX_CALL_DEPTH) {
        ops[w - REC + F_KIND] = (ops[w - REC + F_KIND]! & ~0xff) | K_CALL_IN;
        ops[w - REC + F_X] = target;
        returnTo[calls++] = p;
        p = target;
        continue;
      }
    } else if (kind === K_RET && calls > 0) {
      // The callee's RET: the block goes on at the return address its CALL pushed (checked when it runs).
      ops[w - REC + F_KIND] = (ops[w - REC + F_KIND]! & ~0xff) | K_RET_IN;
      p = ops[w - REC + F_X] = returnTo[--calls]!;
      continue;
    }
    // A conditional branch leaves the block only when taken: decoding goes on at the next instruction.
    if (endsBlock(op, reg) && kind !== K_JCC) break;
  }
  // A block that would end on a call to the same page (the callee's first instruction
  // could not be taken, or the block is full) ends with a plain CALL, which jumps;
  // one that would end on a callee's RET, with a plain RET.
  const last = (at + n - 1) * REC;
  if (n > 0 && (ops[last + F_KIND]! & 0xff) === K_CALL_IN) ops[last + F_KIND] = (ops[last + F_KIND]! & ~0xff) | K_CALL;
  if (n > 0 && (ops[last + F_KIND]! & 0xff) === K_RET_IN) ops[last + F_KIND] = (ops[last + F_KIND]! & ~0xff) | K_RET;
  deadFlags(ops, at, n);
  fuseCompareBranch(ops, at, n);
  return n;
}

/**
 * After CMP a, b: per condition code, the relations of a to b for which it
 * holds, as a bit mask over relation = (a < b unsigned) | (a == b) << 1 |
 * (a < b signed) << 2 (0 for O, NO, S, NS, P, NP: not fused).
 */
const CMP_RELATION_MASK = new Int32Array(16);
for (let cc = 0; cc < 16; cc++) {
  let mask = 0;
  for (let rel = 0; rel < 8; rel++) {
    const below = (rel & 1) !== 0;
    const equal = (rel & 2) !== 0;
    const less = (rel & 4) !== 0;
    const holds = [false, false, below, !below, equal, !equal, below || equal, !below && !equal, false, false, false, false, less, !less, less || equal, !less && !equal][cc]!;
    if (holds) mask |= 1 << rel;
  }
  CMP_RELATION_MASK[cc] = (cc >> 1) === 0 || (cc >> 1) === 4 || (cc >> 1) === 5 ? 0 : mask;
}

/**
 * A register CMP or TEST directly followed by a Jcc becomes one record
 * (K_CMP_JCC_* / K_TEST_JCC_*): one dispatch for the pair, the condition
 * from the operands. The Jcc's record stays in place (the fused record
 * reads it and skips it), so records still count instructions.
 */
function fuseCompareBranch(ops: Int32Array, at: number, n: number): void {
  for (let k = 0; k + 1 < n; k++) {
    const w = (at + k) * REC;
    if ((ops[w + REC + F_KIND]! & 0xff) !== K_JCC) continue;
    const kind = ops[w + F_KIND]! & 0xff;
    if ((kind === K_ALU_RR || kind === K_ALU_RI) && ops[w + F_Y] === 7 && CMP_RELATION_MASK[ops[w + REC + F_X]!] !== 0) {
      ops[w + F_KIND] = kind === K_ALU_RR ? K_CMP_JCC_RR : K_CMP_JCC_RI;
      ops[w + F_Y] = CMP_RELATION_MASK[ops[w + REC + F_X]!]!;
    } else if (kind === K_TEST_RR) {
      // TEST r/m32, r32 records the r/m operand (y) as the destination: keep that order.
      const x = ops[w + F_X]!;
      ops[w + F_X] = ops[w + F_Y]!;
      ops[w + F_IMM] = x;
      ops[w + F_KIND] = K_TEST_JCC_RR;
    } else if (kind === K_TEST_RI) {
      ops[w + F_KIND] = K_TEST_JCC_RI;
    }
  }
}

/**
 * Backward over the block's records: a flag writer whose six arithmetic
 * flags a later instruction of the block overwrites before anything reads
 * them becomes a K_NF_* record (the result only). Only instructions that
 * cannot fault may stand between the two (a fault would push EFLAGS), and
 * flags are live at the block's end. A block stops between its
 * instructions only after a complete handler or a taken Jcc, and both
 * count as readers here.
 */
function deadFlags(ops: Int32Array, at: number, n: number): void {
  let dead = false; // the flags after the current record are dead
  for (let k = n - 1; k >= 0; k--) {
    const w = (at + k) * REC;
    const kind = ops[w + F_KIND]! & 0xff;
    const x = ops[w + F_X]!;
    const y = ops[w + F_Y]!;
    const imm = ops[w + F_IMM]!;
    switch (kind) {
      case K_MOV_RR: case K_MOV_RI: case K_LEA: case K_MOVZX8_R:
        continue; // no flags, no fault: the state passes through
      case K_ALU_RR: case K_ALU_RI:
        if (y === 2 || y === 3) break; // ADC, SBB read CF
        if (dead) toNoFlags(ops, w, kind === K_ALU_RR ? K_NF_RR : K_NF_RI, x, y === 7 ? NF_NONE : y, imm); // ADD OR AND SUB XOR
        dead = true; // writes all six, reads none
        continue;
      case K_TEST_RR:
        if (dead) toNoFlags(ops, w, K_NF_RI, x, NF_NONE, 0);
        dead = true;
        continue;
      case K_TEST_RI:
        if (dead) toNoFlags(ops, w, K_NF_RI, x, NF_NONE, 0);
        dead = true;
        continue;
      case K_INC_R: case K_DEC_R:
        // They keep CF: live flags before them, unless their own are dead (then they read nothing).
        if (dead) toNoFlags(ops, w, K_NF_RI, x, kind === K_INC_R ? NF_INC : NF_DEC, 0);
        else dead = false;
        continue;
      case K_SHIFT_RI: {
        const count = imm & 31;
        if ((y !== 4 && y !== 5 && y !== 7) || count === 0) break; // rotates keep flags; a count of 0 changes none
        if (dead) toNoFlags(ops, w, K_NF_RI, x, y === 5 ? NF_SHR : y === 7 ? NF_SAR : NF_SHL, count);
        dead = true;
        continue;
      }
      case K_IMUL_RI:
        if (dead) { toNoFlags(ops, w, K_NF_RI, x, NF_IMUL, imm); ops[w + F_DISP] = y; }
        dead = true;
        continue;
      case K_IMUL_RR:
        if (dead) { toNoFlags(ops, w, K_NF_RR, x, NF_IMUL, y); }
        dead = true;
        continue;
      default:
        break;
    }
    dead = false; // reads flags, writes some of them, or may fault
  }
}

/** Rewrite record w as K_NF_RR/RI + op: r[x] = r[src] op b, src = x unless the caller changes F_DISP. */
function toNoFlags(ops: Int32Array, w: number, kind: number, x: number, op: number, b: number): void {
  ops[w + F_KIND] = kind + op;
  ops[w + F_X] = x;
  ops[w + F_Y] = op;
  ops[w + F_IMM] = b;
  ops[w + F_DISP] = x;
}

/** The record kind of an inline form (filling F_X/F_Y/F_IMM as it needs), or -1 for K_GENERIC. */
function specialKind(op: number, modrm: number, reg: number, hasMem: boolean, ops: Int32Array, w: number): number {
  const rm = modrm & 7;
  if (op < 0x40 && (op & 7) < 4) {
    // ALU Eb,Gb / Ev,Gv / Gb,Eb / Gv,Ev: only the 32-bit forms (op & 1)
    if ((op & 1) === 0) return -1;
    const k = op >> 3;
    ops[w + F_Y] = k;
    if ((op & 2) === 0) {
      // Ev, Gv
      if (!hasMem) { ops[w + F_X] = rm; ops[w + F_IMM] = reg; return K_ALU_RR; }
      ops[w + F_X] = reg;
      return K_ALU_MR;
    }
    ops[w + F_X] = reg;
    if (!hasMem) { ops[w + F_IMM] = rm; return K_ALU_RR; }
    return K_ALU_RM;
  }
  if (op < 0x40 && (op & 7) === 5) { ops[w + F_X] = 0; ops[w + F_Y] = op >> 3; return K_ALU_RI; }
  if (op >= 0x40 && op < 0x48) { ops[w + F_X] = op & 7; return K_INC_R; }
  if (op >= 0x48 && op < 0x50) { ops[w + F_X] = op & 7; return K_DEC_R; }
  if (op >= 0x50 && op < 0x58) { ops[w + F_X] = op & 7; return K_PUSH_R; }
  if (op >= 0x58 && op < 0x60) { ops[w + F_X] = op & 7; return K_POP_R; }
  if (op >= 0x70 && op < 0x80) { ops[w + F_X] = op & 15; return K_JCC; }
  if (op >= 0x180 && op < 0x190) { ops[w + F_X] = op & 15; return K_JCC; }
  if (op >= 0xb8 && op < 0xc0) { ops[w + F_X] = op & 7; return K_MOV_RI; }
  if (op >= 0x140 && op < 0x150 && !hasMem) { ops[w + F_X] = reg; ops[w + F_Y] = op & 15; ops[w + F_IMM] = rm; return K_CMOV_RR; }
  if (op >= 0x190 && op < 0x1a0 && !hasMem) { ops[w + F_X] = rm; ops[w + F_Y] = op & 15; return K_SETCC_R; }
  switch (op) {
    case 0x81: case 0x83:
      ops[w + F_Y] = reg;
      if (!hasMem) { ops[w + F_X] = rm; return K_ALU_RI; }
      return reg === 7 ? K_CMP_MI : K_ALU_MI;
    case 0x85:
      ops[w + F_X] = reg;
      if (!hasMem) { ops[w + F_Y] = rm; return K_TEST_RR; }
      return K_TEST_RM;
    case 0xa9: ops[w + F_X] = 0; return K_TEST_RI;
    case 0xf7:
      if (reg === 0 && !hasMem) { ops[w + F_X] = rm; return K_TEST_RI; }
      return -1;
    case 0x89:
      if (!hasMem) { ops[w + F_X] = rm; ops[w + F_Y] = reg; return K_MOV_RR; }
      ops[w + F_X] = reg;
      return K_STORE;
    case 0x8b:
      ops[w + F_X] = reg;
      if (!hasMem) { ops[w + F_Y] = rm; return K_MOV_RR; }
      return K_LOAD;
    case 0x88:
      if (!hasMem) return -1;
      ops[w + F_X] = reg;
      return K_STORE8;
    case 0x8a:
      if (!hasMem) return -1;
      ops[w + F_X] = reg;
      return K_LOAD8;
    case 0xc7:
      if (!hasMem) { ops[w + F_X] = rm; return K_MOV_RI; }
      return K_STORE_I;
    case 0x8d:
      if (!hasMem) return -1; // the register form raises #UD (the handler's)
      ops[w + F_X] = reg;
      return K_LEA;
    case 0x68: case 0x6a: return K_PUSH_I;
    case 0x1b6:
      ops[w + F_X] = reg;
      if (!hasMem) { ops[w + F_Y] = rm; return K_MOVZX8_R; }
      return K_MOVZX8_M;
    case 0x1b7:
      if (!hasMem) return -1;
      ops[w + F_X] = reg;
      return K_MOVZX16_M;
    case 0xc1:
      if (hasMem || reg === 6) return -1;
      ops[w + F_X] = rm;
      ops[w + F_Y] = reg;
      return K_SHIFT_RI;
    case 0xd1:
      if (hasMem || reg === 6) return -1;
      ops[w + F_X] = rm;
      ops[w + F_Y] = reg;
      ops[w + F_IMM] = 1;
      return K_SHIFT_RI;
    case 0x69: case 0x6b:
      ops[w + F_X] = reg;
      if (!hasMem) { ops[w + F_Y] = rm; return K_IMUL_RI; }
      return K_IMUL_MI;
    case 0x1af:
      if (hasMem) return -1;
      ops[w + F_X] = reg;
      ops[w + F_Y] = rm;
      return K_IMUL_RR;
    case 0xeb: case 0xe9: return K_JMP;
    case 0xe8: return K_CALL;
    case 0xc3: return K_RET;
    default: return -1;
  }
}

const STACK_SLOT = 4 | (NO_REG << 4) | (S_SS << 12); // [ESP + disp] in SS

/**
 * What the fast path's access needs of the segments, as CpuCore.segOkBits
 * bits: its segment readable (or writable) without checks, and for stack
 * slots a 32-bit stack.
 */
function segmentNeeds(acc: number, mem: number): number {
  const seg = (mem >> 12) & 7;
  let needs = 0;
  if ((acc & ACC_READ) !== 0) needs |= 1 << seg;
  if ((acc & ACC_WRITE) !== 0) needs |= 1 << (6 + seg);
  if ((acc & ACC_STACK) !== 0) needs |= SEG_OK_SS32;
  return needs;
}

/**
 * The memory access a record's fast path makes (ACC_* bits for its kind
 * word); stack kinds get their slot [ESP - 4] or [ESP] as the operand.
 */
function access(kind: number, ops: Int32Array, w: number): number {
  switch (kind) {
    case K_LOAD: case K_ALU_RM: case K_CMP_MI: case K_TEST_RM: case K_IMUL_MI: return ACC_READ | (3 << ACC_SIZE_SHIFT);
    case K_STORE: case K_STORE_I: case K_ALU_MI: return ACC_WRITE | (3 << ACC_SIZE_SHIFT);
    case K_ALU_MR: return (ops[w + F_Y] === 7 ? ACC_READ : ACC_WRITE) | (3 << ACC_SIZE_SHIFT); // CMP only reads
    case K_MOVZX8_M: case K_LOAD8: return ACC_READ;
    case K_STORE8: return ACC_WRITE;
    case K_MOVZX16_M: return ACC_READ | (1 << ACC_SIZE_SHIFT);
    case K_PUSH_R: case K_PUSH_I: case K_CALL:
      ops[w + F_MEM] = STACK_SLOT;
      ops[w + F_DISP] = -4;
      return ACC_WRITE | ACC_STACK | (3 << ACC_SIZE_SHIFT);
    case K_POP_R: case K_RET:
      ops[w + F_MEM] = STACK_SLOT;
      ops[w + F_DISP] = 0;
      return ACC_READ | ACC_STACK | (3 << ACC_SIZE_SHIFT);
    default:
      return 0;
  }
}
