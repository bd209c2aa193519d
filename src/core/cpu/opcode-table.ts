/**
 * The opcode table: one row per opcode (or per /reg of a group) of the
 * i686 integer instruction set plus the x87 escapes, in the operand notation
 * of SDM Vol. 2 appendix A (Eb Gv Iz Jb ...). Decoding (ModRM presence, LOCK
 * legality), the interpreter dispatch (which opcodes exist) and the
 * disassembler all derive from it; a later JIT can read the flag effects.
 *
 * Opcode numbering: 0x00-0xFF one-byte opcodes, 0x100-0x1FF the 0F xx map.
 *
 * Operand codes used (A.2): E = ModRM r/m, G = ModRM reg, M = memory-only
 * r/m, R = register-only r/m, S = segment register in reg, C/D = control/debug
 * register in reg, I = immediate, J = relative offset, O = moffs, A = far
 * pointer immediate, X = DS:eSI, Y = ES:eDI, Z = register in the opcode's
 * low 3 bits; sizes b = byte, w = word, d = dword, v = word/dword by operand
 * size, z = word/dword immediate, p = far pointer, q = 8 bytes, a = BOUND
 * pair. `Ibs` is an imm8 sign-extended to the operand size. Literal register
 * names (AL, eAX, DX, CL, 1, ES...) are implicit operands.
 */
import { F_AF, F_CF, F_DF, F_IF, F_OF, F_PF, F_SF, F_ZF, F_TF, F_AC, F_NT, F_IOPL, F_RF, F_ID, F_VM } from './constants.ts';

export interface OpcodeRow {
  /** 0x00-0xFF, or 0x100 | second byte for 0F xx. */
  readonly opcode: number;
  /** Group member (ModRM reg field) or -1. */
  readonly reg: number;
  /** Mnemonic; `a|b` = 16-bit | 32-bit operand-size forms. */
  readonly mnemonic: string;
  readonly operands: readonly string[];
  readonly modrm: boolean;
  /** LOCK allowed (with a memory destination). */
  readonly lockable: boolean;
  /** 0: no REP semantics, 1: REP (F2/F3 both mean repeat), 2: REPE/REPNE. */
  readonly rep: number;
  /** EFLAGS bits read / written (written includes undefined-after). */
  readonly flagsRead: number;
  readonly flagsWritten: number;
  /** Ends a basic block (jumps, calls, returns, interrupts, mode changes). */
  readonly branch: boolean;
}

const OSZAPC = F_OF | F_SF | F_ZF | F_AF | F_PF | F_CF;
const OSZAP = F_OF | F_SF | F_ZF | F_AF | F_PF;
const ALL_FLAGS = OSZAPC | F_TF | F_IF | F_DF | F_IOPL | F_NT | F_RF | F_AC | F_ID | F_VM;
/** Flags each condition code reads (SDM Vol. 1 B.1), by cc. */
const CC_READS: readonly number[] = [
  F_OF, F_OF, F_CF, F_CF, F_ZF, F_ZF, F_CF | F_ZF, F_CF | F_ZF,
  F_SF, F_SF, F_PF, F_PF, F_SF | F_OF, F_SF | F_OF, F_ZF | F_SF | F_OF, F_ZF | F_SF | F_OF,
];
const CC_NAMES: readonly string[] = ['o', 'no', 'b', 'ae', 'e', 'ne', 'be', 'a', 's', 'ns', 'p', 'np', 'l', 'ge', 'le', 'g'];

interface Opts {
  lock?: boolean;
  rep?: number;
  fr?: number;
  fw?: number;
  branch?: boolean;
}

const rows: OpcodeRow[] = [];

const MODRM_OPERAND = /^([EGRSCD][a-z]|M[a-z]?$)/;

function add(opcode: number, reg: number, mnemonic: string, ops: string, o: Opts = {}, forceModrm = false): void {
  const operands = ops === '' ? [] : ops.split(',');
  rows.push({
    opcode, reg, mnemonic, operands,
    modrm: forceModrm || reg >= 0 || operands.some((x) => MODRM_OPERAND.test(x)),
    lockable: o.lock ?? false,
    rep: o.rep ?? 0,
    flagsRead: o.fr ?? 0,
    flagsWritten: o.fw ?? 0,
    branch: o.branch ?? false,
  });
}

function op(opcode: number, mnemonic: string, ops = '', o: Opts = {}): void {
  add(opcode, -1, mnemonic, ops, o);
}

function grp(opcode: number, reg: number, mnemonic: string, ops: string, o: Opts = {}): void {
  add(opcode, reg, mnemonic, ops, o);
}

// ---------------- one-byte map ----------------
const ALU_NAMES = ['add', 'or', 'adc', 'sbb', 'and', 'sub', 'xor', 'cmp'];
for (let k = 0; k < 8; k++) {
  const base = k * 8;
  const lock = k !== 7;
  const fr = k === 2 || k === 3 ? F_CF : 0;
  const n = ALU_NAMES[k];
  op(base + 0, n, 'Eb,Gb', { lock, fr, fw: OSZAPC });
  op(base + 1, n, 'Ev,Gv', { lock, fr, fw: OSZAPC });
  op(base + 2, n, 'Gb,Eb', { fr, fw: OSZAPC });
  op(base + 3, n, 'Gv,Ev', { fr, fw: OSZAPC });
  op(base + 4, n, 'AL,Ib', { fr, fw: OSZAPC });
  op(base + 5, n, 'eAX,Iz', { fr, fw: OSZAPC });
}
op(0x06, 'push', 'ES'); op(0x07, 'pop', 'ES');
op(0x0e, 'push', 'CS');
op(0x16, 'push', 'SS'); op(0x17, 'pop', 'SS');
op(0x1e, 'push', 'DS'); op(0x1f, 'pop', 'DS');
op(0x27, 'daa', '', { fr: F_AF | F_CF, fw: OSZAPC });
op(0x2f, 'das', '', { fr: F_AF | F_CF, fw: OSZAPC });
op(0x37, 'aaa', '', { fr: F_AF, fw: OSZAPC });
op(0x3f, 'aas', '', { fr: F_AF, fw: OSZAPC });
for (let r = 0; r < 8; r++) {
  op(0x40 + r, 'inc', 'Zv', { fw: OSZAP });
  op(0x48 + r, 'dec', 'Zv', { fw: OSZAP });
  op(0x50 + r, 'push', 'Zv');
  op(0x58 + r, 'pop', 'Zv');
}
op(0x60, 'pushaw|pushad'); op(0x61, 'popaw|popad');
op(0x62, 'bound', 'Gv,Ma');
op(0x63, 'arpl', 'Ew,Gw', { fw: F_ZF });
op(0x68, 'push', 'Iz');
op(0x69, 'imul', 'Gv,Ev,Iz', { fw: OSZAPC });
op(0x6a, 'push', 'Ibs');
op(0x6b, 'imul', 'Gv,Ev,Ibs', { fw: OSZAPC });
op(0x6c, 'insb', 'Yb,DX', { rep: 1, fr: F_DF });
op(0x6d, 'insw|insd', 'Yv,DX', { rep: 1, fr: F_DF });
op(0x6e, 'outsb', 'DX,Xb', { rep: 1, fr: F_DF });
op(0x6f, 'outsw|outsd', 'DX,Xv', { rep: 1, fr: F_DF });
for (let cc = 0; cc < 16; cc++) op(0x70 + cc, 'j' + CC_NAMES[cc], 'Jb', { fr: CC_READS[cc], branch: true });
for (let k = 0; k < 8; k++) {
  const lock = k !== 7;
  const fr = k === 2 || k === 3 ? F_CF : 0;
  grp(0x80, k, ALU_NAMES[k], 'Eb,Ib', { lock, fr, fw: OSZAPC });
  grp(0x81, k, ALU_NAMES[k], 'Ev,Iz', { lock, fr, fw: OSZAPC });
  grp(0x82, k, ALU_NAMES[k], 'Eb,Ib', { lock, fr, fw: OSZAPC });
  grp(0x83, k, ALU_NAMES[k], 'Ev,Ibs', { lock, fr, fw: OSZAPC });
}
op(0x84, 'test', 'Eb,Gb', { fw: OSZAPC }); op(0x85, 'test', 'Ev,Gv', { fw: OSZAPC });
op(0x86, 'xchg', 'Eb,Gb', { lock: true }); op(0x87, 'xchg', 'Ev,Gv', { lock: true });
op(0x88, 'mov', 'Eb,Gb'); op(0x89, 'mov', 'Ev,Gv'); op(0x8a, 'mov', 'Gb,Eb'); op(0x8b, 'mov', 'Gv,Ev');
op(0x8c, 'mov', 'Ev,Sw'); op(0x8d, 'lea', 'Gv,M'); op(0x8e, 'mov', 'Sw,Ew');
grp(0x8f, 0, 'pop', 'Ev');
op(0x90, 'nop');
for (let r = 1; r < 8; r++) op(0x90 + r, 'xchg', 'Zv,eAX');
op(0x98, 'cbw|cwde'); op(0x99, 'cwd|cdq');
op(0x9a, 'callf', 'Ap', { branch: true });
op(0x9b, 'fwait');
op(0x9c, 'pushfw|pushfd', '', { fr: ALL_FLAGS });
op(0x9d, 'popfw|popfd', '', { fw: ALL_FLAGS, branch: true });
op(0x9e, 'sahf', '', { fw: F_SF | F_ZF | F_AF | F_PF | F_CF });
op(0x9f, 'lahf', '', { fr: F_SF | F_ZF | F_AF | F_PF | F_CF });
op(0xa0, 'mov', 'AL,Ob'); op(0xa1, 'mov', 'eAX,Ov'); op(0xa2, 'mov', 'Ob,AL'); op(0xa3, 'mov', 'Ov,eAX');
op(0xa4, 'movsb', 'Yb,Xb', { rep: 1, fr: F_DF }); op(0xa5, 'movsw|movsd', 'Yv,Xv', { rep: 1, fr: F_DF });
op(0xa6, 'cmpsb', 'Xb,Yb', { rep: 2, fr: F_DF, fw: OSZAPC }); op(0xa7, 'cmpsw|cmpsd', 'Xv,Yv', { rep: 2, fr: F_DF, fw: OSZAPC });
op(0xa8, 'test', 'AL,Ib', { fw: OSZAPC }); op(0xa9, 'test', 'eAX,Iz', { fw: OSZAPC });
op(0xaa, 'stosb', 'Yb,AL', { rep: 1, fr: F_DF }); op(0xab, 'stosw|stosd', 'Yv,eAX', { rep: 1, fr: F_DF });
op(0xac, 'lodsb', 'AL,Xb', { rep: 1, fr: F_DF }); op(0xad, 'lodsw|lodsd', 'eAX,Xv', { rep: 1, fr: F_DF });
op(0xae, 'scasb', 'AL,Yb', { rep: 2, fr: F_DF, fw: OSZAPC }); op(0xaf, 'scasw|scasd', 'eAX,Yv', { rep: 2, fr: F_DF, fw: OSZAPC });
for (let r = 0; r < 8; r++) {
  op(0xb0 + r, 'mov', 'Zb,Ib');
  op(0xb8 + r, 'mov', 'Zv,Iv');
}
const SHIFT_NAMES = ['rol', 'ror', 'rcl', 'rcr', 'shl', 'shr', 'sal', 'sar'];
for (let k = 0; k < 8; k++) {
  const fr = k === 2 || k === 3 ? F_CF : 0;
  const fw = k < 4 ? F_OF | F_CF : OSZAPC;
  grp(0xc0, k, SHIFT_NAMES[k], 'Eb,Ib', { fr, fw });
  grp(0xc1, k, SHIFT_NAMES[k], 'Ev,Ib', { fr, fw });
  grp(0xd0, k, SHIFT_NAMES[k], 'Eb,1', { fr, fw });
  grp(0xd1, k, SHIFT_NAMES[k], 'Ev,1', { fr, fw });
  grp(0xd2, k, SHIFT_NAMES[k], 'Eb,CL', { fr, fw });
  grp(0xd3, k, SHIFT_NAMES[k], 'Ev,CL', { fr, fw });
}
op(0xc2, 'ret', 'Iw', { branch: true }); op(0xc3, 'ret', '', { branch: true });
op(0xc4, 'les', 'Gv,Mp'); op(0xc5, 'lds', 'Gv,Mp');
grp(0xc6, 0, 'mov', 'Eb,Ib'); grp(0xc7, 0, 'mov', 'Ev,Iz');
op(0xc8, 'enter', 'Iw,Ib'); op(0xc9, 'leave');
op(0xca, 'retf', 'Iw', { branch: true }); op(0xcb, 'retf', '', { branch: true });
op(0xcc, 'int3', '', { fw: F_TF | F_IF | F_NT | F_RF | F_VM | F_AC, branch: true });
op(0xcd, 'int', 'Ib', { fw: F_TF | F_IF | F_NT | F_RF | F_VM | F_AC, branch: true });
op(0xce, 'into', '', { fr: F_OF, fw: F_TF | F_IF | F_NT | F_RF | F_VM | F_AC, branch: true });
op(0xcf, 'iretw|iretd', '', { fw: ALL_FLAGS, branch: true });
op(0xd4, 'aam', 'Ib', { fw: OSZAPC }); op(0xd5, 'aad', 'Ib', { fw: OSZAPC });
op(0xd6, 'salc', '', { fr: F_CF });
op(0xd7, 'xlat', '');
for (let k = 0; k < 8; k++) add(0xd8 + k, -1, 'esc', 'E', {}, true);
op(0xe0, 'loopne', 'Jb', { fr: F_ZF, branch: true }); op(0xe1, 'loope', 'Jb', { fr: F_ZF, branch: true });
op(0xe2, 'loop', 'Jb', { branch: true }); op(0xe3, 'jcxz|jecxz', 'Jb', { branch: true });
op(0xe4, 'in', 'AL,Ib'); op(0xe5, 'in', 'eAX,Ib'); op(0xe6, 'out', 'Ib,AL'); op(0xe7, 'out', 'Ib,eAX');
op(0xe8, 'call', 'Jz', { branch: true }); op(0xe9, 'jmp', 'Jz', { branch: true });
op(0xea, 'jmpf', 'Ap', { branch: true }); op(0xeb, 'jmp', 'Jb', { branch: true });
op(0xec, 'in', 'AL,DX'); op(0xed, 'in', 'eAX,DX'); op(0xee, 'out', 'DX,AL'); op(0xef, 'out', 'DX,eAX');
op(0xf1, 'int1', '', { branch: true });
op(0xf4, 'hlt', '', { branch: true });
op(0xf5, 'cmc', '', { fr: F_CF, fw: F_CF });
const GRP3 = ['test', 'test', 'not', 'neg', 'mul', 'imul', 'div', 'idiv'];
for (let k = 0; k < 8; k++) {
  const lock = k === 2 || k === 3;
  const fw = k === 2 ? 0 : OSZAPC;
  grp(0xf6, k, GRP3[k], k < 2 ? 'Eb,Ib' : 'Eb', { lock, fw });
  grp(0xf7, k, GRP3[k], k < 2 ? 'Ev,Iz' : 'Ev', { lock, fw });
}
op(0xf8, 'clc', '', { fw: F_CF }); op(0xf9, 'stc', '', { fw: F_CF });
op(0xfa, 'cli', '', { fw: F_IF }); op(0xfb, 'sti', '', { fw: F_IF, branch: true });
op(0xfc, 'cld', '', { fw: F_DF }); op(0xfd, 'std', '', { fw: F_DF });
grp(0xfe, 0, 'inc', 'Eb', { lock: true, fw: OSZAP }); grp(0xfe, 1, 'dec', 'Eb', { lock: true, fw: OSZAP });
grp(0xff, 0, 'inc', 'Ev', { lock: true, fw: OSZAP }); grp(0xff, 1, 'dec', 'Ev', { lock: true, fw: OSZAP });
grp(0xff, 2, 'call', 'Ev', { branch: true }); grp(0xff, 3, 'callf', 'Mp', { branch: true });
grp(0xff, 4, 'jmp', 'Ev', { branch: true }); grp(0xff, 5, 'jmpf', 'Mp', { branch: true });
grp(0xff, 6, 'push', 'Ev');

// ---------------- two-byte map (0F xx) ----------------
const T = 0x100;
grp(T | 0x00, 0, 'sldt', 'Ew'); grp(T | 0x00, 1, 'str', 'Ew'); grp(T | 0x00, 2, 'lldt', 'Ew');
grp(T | 0x00, 3, 'ltr', 'Ew'); grp(T | 0x00, 4, 'verr', 'Ew', { fw: F_ZF }); grp(T | 0x00, 5, 'verw', 'Ew', { fw: F_ZF });
grp(T | 0x01, 0, 'sgdt', 'M'); grp(T | 0x01, 1, 'sidt', 'M'); grp(T | 0x01, 2, 'lgdt', 'M');
grp(T | 0x01, 3, 'lidt', 'M'); grp(T | 0x01, 4, 'smsw', 'Ew'); grp(T | 0x01, 6, 'lmsw', 'Ew', { branch: true });
grp(T | 0x01, 7, 'invlpg', 'M', { branch: true });
op(T | 0x02, 'lar', 'Gv,Ew', { fw: F_ZF }); op(T | 0x03, 'lsl', 'Gv,Ew', { fw: F_ZF });
op(T | 0x06, 'clts'); op(T | 0x08, 'invd'); op(T | 0x09, 'wbinvd'); op(T | 0x0b, 'ud2');
for (let k = 0x18; k <= 0x1f; k++) add(T | k, -1, 'nop', 'Ev', {}, true);
op(T | 0x20, 'mov', 'Rd,Cd'); op(T | 0x21, 'mov', 'Rd,Dd');
op(T | 0x22, 'mov', 'Cd,Rd', { branch: true }); op(T | 0x23, 'mov', 'Dd,Rd');
op(T | 0x30, 'wrmsr'); op(T | 0x31, 'rdtsc'); op(T | 0x32, 'rdmsr'); op(T | 0x33, 'rdpmc');
op(T | 0x34, 'sysenter', '', { fw: F_IF | F_VM | F_RF, branch: true });
op(T | 0x35, 'sysexit', '', { branch: true });
for (let cc = 0; cc < 16; cc++) {
  op(T | (0x40 + cc), 'cmov' + CC_NAMES[cc], 'Gv,Ev', { fr: CC_READS[cc] });
  op(T | (0x80 + cc), 'j' + CC_NAMES[cc], 'Jz', { fr: CC_READS[cc], branch: true });
  op(T | (0x90 + cc), 'set' + CC_NAMES[cc], 'Eb', { fr: CC_READS[cc] });
}
op(T | 0xa0, 'push', 'FS'); op(T | 0xa1, 'pop', 'FS'); op(T | 0xa2, 'cpuid');
op(T | 0xa3, 'bt', 'Ev,Gv', { fw: OSZAPC & ~F_ZF });
op(T | 0xa4, 'shld', 'Ev,Gv,Ib', { fw: OSZAPC }); op(T | 0xa5, 'shld', 'Ev,Gv,CL', { fw: OSZAPC });
op(T | 0xa8, 'push', 'GS'); op(T | 0xa9, 'pop', 'GS');
op(T | 0xab, 'bts', 'Ev,Gv', { lock: true, fw: OSZAPC & ~F_ZF });
op(T | 0xac, 'shrd', 'Ev,Gv,Ib', { fw: OSZAPC }); op(T | 0xad, 'shrd', 'Ev,Gv,CL', { fw: OSZAPC });
grp(T | 0xae, 0, 'fxsave', 'M'); grp(T | 0xae, 1, 'fxrstor', 'M');
op(T | 0xaf, 'imul', 'Gv,Ev', { fw: OSZAPC });
op(T | 0xb0, 'cmpxchg', 'Eb,Gb', { lock: true, fw: OSZAPC }); op(T | 0xb1, 'cmpxchg', 'Ev,Gv', { lock: true, fw: OSZAPC });
op(T | 0xb2, 'lss', 'Gv,Mp'); op(T | 0xb3, 'btr', 'Ev,Gv', { lock: true, fw: OSZAPC & ~F_ZF });
op(T | 0xb4, 'lfs', 'Gv,Mp'); op(T | 0xb5, 'lgs', 'Gv,Mp');
op(T | 0xb6, 'movzx', 'Gv,Eb'); op(T | 0xb7, 'movzx', 'Gv,Ew');
op(T | 0xb9, 'ud1', 'Gv,Ev');
grp(T | 0xba, 4, 'bt', 'Ev,Ib', { fw: OSZAPC & ~F_ZF }); grp(T | 0xba, 5, 'bts', 'Ev,Ib', { lock: true, fw: OSZAPC & ~F_ZF });
grp(T | 0xba, 6, 'btr', 'Ev,Ib', { lock: true, fw: OSZAPC & ~F_ZF }); grp(T | 0xba, 7, 'btc', 'Ev,Ib', { lock: true, fw: OSZAPC & ~F_ZF });
op(T | 0xbb, 'btc', 'Ev,Gv', { lock: true, fw: OSZAPC & ~F_ZF });
op(T | 0xbc, 'bsf', 'Gv,Ev', { fw: OSZAPC }); op(T | 0xbd, 'bsr', 'Gv,Ev', { fw: OSZAPC });
op(T | 0xbe, 'movsx', 'Gv,Eb'); op(T | 0xbf, 'movsx', 'Gv,Ew');
op(T | 0xc0, 'xadd', 'Eb,Gb', { lock: true, fw: OSZAPC }); op(T | 0xc1, 'xadd', 'Ev,Gv', { lock: true, fw: OSZAPC });
grp(T | 0xc7, 1, 'cmpxchg8b', 'Mq', { lock: true, fw: F_ZF });
for (let r = 0; r < 8; r++) op(T | (0xc8 + r), 'bswap', 'Zd');

export const OPCODE_ROWS: readonly OpcodeRow[] = rows;

/**
 * Per opcode (0..0x1FF): 0 = no ModRM, 1 = ModRM with a possible memory
 * operand, 2 = ModRM whose r/m is always a register (MOV CRn/DRn: the SDM
 * says the mod field is ignored, so no SIB/displacement follows).
 */
export const HAS_MODRM = new Uint8Array(512);
/** 1 when the opcode exists at all (for some reg value). */
export const OPCODE_VALID = new Uint8Array(512);
/** LOCK_OK[opcode * 8 + reg]: LOCK prefix allowed (memory destination still required). */
export const LOCK_OK = new Uint8Array(512 * 8);
/** Rows by opcode * 8 + reg (non-group rows fill all 8). */
export const ROW_BY_OPCODE: (OpcodeRow | undefined)[] = new Array<OpcodeRow | undefined>(512 * 8);

for (const r of rows) {
  if (r.modrm) HAS_MODRM[r.opcode] = r.operands.some((x) => x.startsWith('R')) ? 2 : 1;
  OPCODE_VALID[r.opcode] = 1;
  for (let g = 0; g < 8; g++) {
    if (r.reg >= 0 && r.reg !== g) continue;
    ROW_BY_OPCODE[r.opcode * 8 + g] = r;
    if (r.lockable) LOCK_OK[r.opcode * 8 + g] = 1;
  }
}

/** Look up the row for an opcode and ModRM reg field. */
export function rowFor(opcode: number, reg: number): OpcodeRow | undefined {
  return ROW_BY_OPCODE[opcode * 8 + (reg & 7)];
}
