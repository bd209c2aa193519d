/**
 * Decodes one basic block for the JIT: the instructions from a start address
 * up to the first branch, the first instruction the translator does not
 * handle, the end of the code page, or MAX_BLOCK instructions. Only 32-bit
 * code is accepted (flat protected-mode code: what Linux and its userland
 * run nearly all the time), with few prefixes: LOCK on lockable forms, 0x66
 * on a few 16-bit forms, one segment prefix; everything else is left to the
 * interpreter, which the block exits to.
 *
 * The decoder reads the guest bytes straight from the memory pool (the
 * block never crosses its page, so one host range holds all of it).
 */
import { decodeMemOperand32, type MemOperand32 } from '../cpu/mem-operand32.ts';

export const MAX_BLOCK = 64;

/** Scratch for decodeMemOperand32. */
const operand: MemOperand32 = { base: -1, index: -1, scale: 0, disp: 0, ssDefault: false, sibBaseEsp: false };

/** How a decoded instruction ends the block (if it does). */
export const enum BlockEnd {
  None = 0,
  /** Conditional branch: taken target `target`, else the next instruction. */
  Jcc = 1,
  /** Direct jump to `target`. */
  Jmp = 2,
  /** CALL rel32: push the return address, continue at `target`. */
  Call = 3,
  /** RET: continue at the popped address. */
  Ret = 4,
  /** Indirect CALL/JMP through r/m32. */
  CallInd = 5,
  JmpInd = 6,
  /**
   * Leave the region after this instruction, through the dispatcher: MOV
   * CR3 (for the next instruction) starts a new TLB epoch, which the
   * region's code holds in a local; SYSENTER and SYSEXIT switch to code of
   * the other privilege level, which other regions hold.
   */
  Leave = 7,
}

export interface Insn {
  eip: number;
  len: number;
  /** Opcode, 0x100 | second byte for 0F xx. */
  op: number;
  /** ModRM fields (-1 when the opcode has none). */
  modrm: number;
  reg: number;
  /** Register operand of r/m when mod = 3, else -1. */
  rmReg: number;
  /** Memory operand: base and index registers (-1 none), scale shift, displacement. */
  mem: boolean;
  base: number;
  index: number;
  scale: number;
  disp: number;
  imm: number;
  end: BlockEnd;
  /** Branch target for Jcc/JMP/CALL. */
  target: number;
  /** GS segment prefix: the memory operand is GS-relative (the translator adds the base, checking GS is usable). */
  gs: boolean;
  /** Operand-size prefix (0x66): a 16-bit form, accepted only for the opcodes in O16_OPS. */
  o16: boolean;
  /** LOCK prefix: accepted only on lockable instructions with a memory operand (else the interpreter raises #UD). */
  lock: boolean;
  /** REP prefix (F3): accepted only on MOVS/STOS. */
  rep: boolean;
  /**
   * CALL rel32 to a PC thunk (`mov reg,[esp]; ret`, see pcThunkRegister): the
   * register the thunk loads, else -1. Such a call does not end the block: it
   * runs as the three instructions it executes (the thunk's bytes checked at
   * run time), so position-independent code stays in its block.
   */
  thunk: number;
  /**
   * CALL rel32 to a PLT entry (`jmp [got]`, FF 25 disp32): the GOT slot's
   * address, else -1. Such a call still ends the block, but continues at the
   * function the slot names (both instructions retired) when the entry's
   * bytes are still there and the slot reads from the TLB.
   */
  got: number;
  /**
   * Bytes of the instruction on the next page (1-4), else 0: an instruction
   * that crosses the page end, decoded with that page's first bytes as the
   * TLB showed them at translation (`crossWord`, little-endian). The
   * generated code checks them on every run, as the thunk and PLT forms do.
   */
  cross: number;
  crossWord: number;
}

/** Most instructions an Insn retires when it runs to its end: a CALL to a PC thunk also runs the thunk's two, one to a PLT entry its JMP. */
export function insnWeight(insn: Insn): number {
  return insn.thunk >= 0 ? 3 : insn.got !== -1 ? 2 : 1;
}

/** The first four bytes of a PLT entry that jumps through the GOT slot at `got` (FF 25 disp32), as a little-endian i32; the other two bytes are got >>> 16. */
export function pltWord(got: number): number {
  return 0x25ff | (got << 16);
}

/** Instructions a block retires when it runs to its end. */
export function blockWeight(insns: Insn[]): number {
  let n = 0;
  for (const i of insns) n += insnWeight(i);
  return n;
}

/**
 * The first four bytes of a PC thunk loading register `reg`: `mov reg,[esp]`
 * (8B /r, ModRM 00 reg 100, SIB 0x24) then `ret` (C3), as little-endian i32.
 * i386 position-independent code (busybox, glibc) calls one at the start of
 * nearly every function to learn its own address; each call and return
 * crossed pages, two region transitions per function call.
 */
export function pcThunkWord(reg: number): number {
  return 0x8b | ((0x04 | (reg << 3)) << 8) | (0x24 << 16) | (0xc3 << 24);
}

/** The register a PC thunk whose first bytes are the little-endian `word` loads, or -1 (ESP itself is not a thunk). */
export function pcThunkRegister(word: number): number {
  const reg = (word >>> 11) & 7;
  return reg !== 4 && word === pcThunkWord(reg) ? reg : -1;
}

/** MOVSB, MOVSD, STOSB, STOSD: translated as a call to the interpreter's string code. */
export function isStringMove(op: number): boolean {
  return op === 0xa4 || op === 0xa5 || op === 0xaa || op === 0xab;
}

/**
 * Opcodes translated with a 0x66 prefix: 16-bit MOV, TEST and two-operand
 * ALU forms, INC/DEC r/m16 (FF /0 /1 only), MOVSW/STOSW (the strMove
 * import: busybox's memcpy ends a copy with `movsw` before `rep movsd`).
 */
const O16_OPS = new Set([0x90, 0x01, 0x03, 0x09, 0x0b, 0x21, 0x23, 0x29, 0x2b, 0x31, 0x33, 0x39, 0x3b, 0x81, 0x83, 0x85, 0x89, 0x8b, 0xc7, 0xff, 0xa5, 0xab]);

/** Whether a LOCK prefix is allowed (SDM Vol. 2 LOCK: these forms with a memory destination). */
function lockable(insn: Insn): boolean {
  if (!insn.mem) return false;
  const op = insn.op;
  if (op < 0x40) return (op & 7) < 2 && op >> 3 !== 7;
  switch (op) {
    case 0x80: case 0x81: case 0x83: return insn.reg !== 7;
    case 0x87: case 0x1b1: case 0x1c7: case 0x1ab: case 0x1b3: case 0x1bb: return true;
    case 0x1ba: return insn.reg >= 5;
    case 0xf7: return insn.reg === 2 || insn.reg === 3;
    case 0xfe: case 0xff: return insn.reg <= 1;
    default: return false;
  }
}

/** Opcode forms the translator implements (32-bit operand and address size, no prefixes). */
const enum Form { No = 0, Plain = 1, ModRM = 2 }

/** Immediate sizes by opcode (0 none, 1 imm8, 4 imm32); group opcodes are refined after ModRM. */
function immSize(op: number, reg: number): number {
  if (op < 0x40) return (op & 7) === 4 ? 1 : (op & 7) === 5 ? 4 : 0;
  switch (op) {
    case 0x68: case 0xa9: case 0xe8: case 0xe9: case 0xa1: case 0xa3: case 0xc7: case 0x81:
    case 0x69:
      return 4;
    case 0x6a: case 0xa8: case 0xeb: case 0x80: case 0x83: case 0xc6: case 0xc0: case 0xc1: case 0x6b: case 0x1ba: case 0x1a4: case 0x1ac:
      return 1;
    case 0xf6: return reg === 0 ? 1 : 0;
    case 0xf7: return reg === 0 ? 4 : 0;
    default:
      if (op >= 0x70 && op <= 0x7f) return 1;
      if (op >= 0xb0 && op <= 0xb7) return 1;
      if (op >= 0xb8 && op <= 0xbf) return 4;
      if (op >= 0x180 && op <= 0x18f) return 4;
      return 0;
  }
}

/**
 * Instructions that may follow a translated STI: the interrupt it enables is
 * taken after the next instruction, so the translator checks the interrupt
 * line right after that one. These leave the block early only through a
 * fault or an exit request, both of which return to JS, where the
 * interpreter takes the interrupt at the same boundary. (A string move, a
 * division that leaves before itself, a GS access with an unusable GS could
 * leave without the check and let the dispatcher chain on.)
 */
function stiFollower(insn: Insn): boolean {
  if (insn.gs || insn.rep) return false;
  const op = insn.op;
  if (op === 0xc3 || op === 0x135) return true; // RET, SYSEXIT: the translator checks before it leaves for the address they go to
  if (insn.end !== BlockEnd.None) return false;
  if (op < 0x40) return (op & 7) < 6;
  if (op < 0x60) return true; // INC/DEC/PUSH/POP r32
  if (op >= 0xb0 && op <= 0xbf) return true;
  if (op >= 0x140 && op <= 0x14f) return true; // CMOVcc
  switch (op) {
    case 0x80: case 0x81: case 0x83: case 0x84: case 0x85: case 0x88: case 0x89: case 0x8a: case 0x8b: case 0x8d:
    case 0x90: case 0xc6: case 0xc7: case 0x68: case 0x6a: case 0xa0: case 0xa1: case 0xa2: case 0xa3: case 0xa8: case 0xa9:
    case 0xf6: case 0x1b6: case 0x1b7: case 0x1be: case 0x1bf:
      return true;
    default:
      return false;
  }
}

function form(op: number, supervisor: boolean): Form {
  if (op < 0x40) {
    if (op === 0x06 || op === 0x0e || op === 0x16 || op === 0x1e) return Form.Plain; // PUSH ES/CS/SS/DS (the kernel's entry code)
    if ((op & 7) >= 6) return Form.No; // segment pops, prefixes, BCD
    return (op & 7) < 4 ? Form.ModRM : Form.Plain;
  }
  if (op < 0x60) return Form.Plain; // INC/DEC/PUSH/POP r32
  if (op >= 0x70 && op <= 0x7f) return Form.Plain;
  if (op >= 0xb0 && op <= 0xbf) return Form.Plain;
  if (op >= 0x91 && op <= 0x97) return Form.Plain; // XCHG EAX, r32 (the kernel's syscall paths)
  switch (op) {
    case 0x68: case 0x6a: case 0x90: case 0x98: case 0x99: case 0xa0: case 0xa1: case 0xa2: case 0xa3: case 0xa8: case 0xa9:
    case 0xc3: case 0xe8: case 0xe9: case 0xeb:
    case 0x9c: case 0xfc: case 0xfd: // PUSHF, CLD, STD
    case 0x9b: // FWAIT (the x87 unit checks it, through an import)
    case 0xa4: case 0xa5: case 0xaa: case 0xab: // MOVS, STOS (the interpreter's string code, through an import)
      return Form.Plain;
    case 0xfa: // CLI: at CPL 0 it cannot fault (at CPL 3 it depends on IOPL: the interpreter's)
    case 0xfb: // STI: likewise; only with an stiFollower after it (decodeBlock)
    case 0x9d: // POPF (32-bit): at CPL 0 every flag it may write is writable
      return supervisor ? Form.Plain : Form.No;
    case 0x122: // MOV CR3, r32 (the context switch; the other control registers change modes)
      return supervisor ? Form.ModRM : Form.No;
    case 0x134: // SYSENTER from user code, SYSEXIT from the kernel, through the `sys` import (the dispatcher switches modes)
      return supervisor ? Form.No : Form.Plain;
    case 0x135:
      return supervisor ? Form.Plain : Form.No;
    case 0x131: // RDTSC, through the `sys` import (the instruction clock)
      return Form.Plain;
    case 0x8e: // MOV DS/ES/FS/GS, r/m16, through the `sys` import (descriptor loads and checks)
    case 0x1c7: // CMPXCHG8B m64
    case 0x1ae: // FXSAVE, FXRSTOR, through the `sys` import
      return Form.ModRM;
    case 0x69: case 0x6b:
    case 0x80: case 0x81: case 0x83: case 0x84: case 0x85: case 0x88: case 0x89: case 0x8a: case 0x8b: case 0x8d:
    case 0xc0: case 0xd0: // SHL SHR SAR r/m8 by a constant
    case 0xc1: case 0xc6: case 0xc7: case 0xd1: case 0xd3: case 0xf6: case 0xf7: case 0xfe: case 0xff:
    case 0x1af: case 0x1b6: case 0x1b7: case 0x1be: case 0x1bf:
    case 0x1a3: case 0x1ab: case 0x1b3: case 0x1bb: case 0x1ba: // BT BTS BTR BTC
    case 0x8c: // MOV r32, Sreg (a register destination only)
    case 0x8f: // POP r/m32 (the kernel's context switch pops into the stack: pop [esp+8])
    case 0x87: case 0x1b1: // XCHG, CMPXCHG
    case 0x1a4: case 0x1a5: case 0x1ac: case 0x1ad: // SHLD, SHRD
    case 0xd8: case 0xd9: case 0xda: case 0xdb: case 0xdc: case 0xdd: case 0xde: case 0xdf: // x87, through an import
      return Form.ModRM;
    default:
      if (op >= 0x140 && op <= 0x14f) return Form.ModRM; // CMOVcc
      if (op >= 0x190 && op <= 0x19f) return Form.ModRM; // SETcc
      if (op >= 0x180 && op <= 0x18f) return Form.Plain; // Jcc rel32
      if (op >= 0x1c8 && op <= 0x1cf) return Form.Plain; // BSWAP r32
      if (op === 0x1a0 || op === 0x1a8) return Form.Plain; // PUSH FS, PUSH GS
      return Form.No;
  }
}

/** Group forms (by ModRM.reg) the translator implements. */
function groupOk(op: number, reg: number, mod: number): boolean {
  switch (op) {
    case 0xc1: case 0xd1: return reg <= 1 || reg === 4 || reg === 5 || reg === 7; // ROL ROR SHL SHR SAR by a constant
    case 0xc0: case 0xd0: return reg === 4 || reg === 5 || reg === 7;
    case 0xd3: return mod === 3 && (reg === 4 || reg === 5 || reg === 7); // SHL SHR SAR r32 by CL
    case 0xc6: case 0xc7: return reg === 0;
    case 0xf6: return reg === 0;
    case 0xf7: return reg !== 1; // TEST NOT NEG MUL IMUL DIV IDIV
    case 0x1ba: return reg >= 4;
    case 0x1a5: case 0x1ad: return mod === 3; // SHLD/SHRD by CL: a register destination only (a count of 0 changes nothing)
    case 0xfe: return reg <= 1;
    case 0xff: return reg <= 2 || reg === 4 || reg === 6;
    case 0x8d: return mod !== 3;
    case 0x8f: return reg === 0;
    case 0x8c: return mod === 3 && reg <= 5;
    case 0x8e: return reg === 0 || reg === 3 || reg === 4 || reg === 5;
    case 0x1c7: return reg === 1 && mod !== 3;
    case 0x1ae: return reg <= 1 && mod !== 3;
    case 0x122: return reg === 3 && mod === 3;
    default: return true;
  }
}

/**
 * Decode from host offset `p` (guest EIP `eip`) while `p < end`. Returns the
 * instructions (possibly none). `mem8` is the pool's byte view; `supervisor`:
 * the code runs at CPL 0 (the JIT's mode 1). `peek`, when given, returns
 * the first 8 bytes at a CALL target as two little-endian i32 (or null when
 * it cannot tell): a PC thunk there continues the block (Insn.thunk), a PLT
 * entry is followed through its GOT slot (Insn.got). A block retires at most
 * MAX_BLOCK instructions (blockWeight).
 */
export function decodeBlock(mem8: Uint8Array, p: number, end: number, eip: number, supervisor: boolean, peek?: (target: number) => [number, number] | null): Insn[] {
  const out: Insn[] = [];
  let weight = 0;
  while (weight < MAX_BLOCK) {
    const insn = decodeOne(mem8, p, end, eip, supervisor) ?? (peek !== undefined ? decodeAcross(mem8, p, end, eip, supervisor, peek) : null);
    if (insn === null) break;
    if (insn.end === BlockEnd.Call && insn.cross === 0 && peek !== undefined && weight + 3 <= MAX_BLOCK) {
      const words = peek(insn.target);
      if (words !== null) {
        insn.thunk = pcThunkRegister(words[0]);
        if (insn.thunk >= 0) insn.end = BlockEnd.None;
        else if ((words[0] & 0xffff) === 0x25ff) {
          const got = (words[0] >>> 16) | (words[1] << 16);
          // The slot must lie within one page (the generated code reads it with one TLB check); -1 is the "none" value.
          if ((got & 0xfff) <= 0xffc && got !== -1) insn.got = got;
        }
      }
    }
    if (insn.op === 0xfb) {
      const next = weight + 2 <= MAX_BLOCK ? decodeOne(mem8, p + insn.len, end, (eip + insn.len) | 0, supervisor) : null;
      if (next === null || !stiFollower(next)) break;
    }
    out.push(insn);
    weight += insnWeight(insn);
    if (insn.end !== BlockEnd.None || insn.cross !== 0) break;
    p += insn.len;
    eip = (eip + insn.len) | 0;
  }
  return out;
}

/**
 * The instruction at `p` if it runs past `end`, the end of its page, by 1-4
 * bytes that the TLB shows on the next page (Insn.cross); else null. Such
 * an instruction ends its block.
 */
function decodeAcross(mem8: Uint8Array, p: number, end: number, eip: number, supervisor: boolean, peek: (target: number) => [number, number] | null): Insn | null {
  const here = end - p;
  if (here <= 0 || here >= 15 || (end & 0xfff) !== 0) return null;
  const next = peek((eip + here) | 0);
  if (next === null) return null;
  const bytes = new Uint8Array(here + 8);
  bytes.set(mem8.subarray(p, end));
  const view = new DataView(bytes.buffer);
  view.setInt32(here, next[0], true);
  view.setInt32(here + 4, next[1], true);
  const insn = decodeOne(bytes, 0, bytes.length, eip, supervisor);
  if (insn === null || insn.len <= here || insn.len > here + 4) return null;
  insn.cross = insn.len - here;
  insn.crossWord = next[0] & crossMask(insn.cross);
  return insn;
}

/** The bits of a little-endian word that hold its first `n` bytes (1-4). */
export function crossMask(n: number): number {
  return n >= 4 ? -1 : (1 << (8 * n)) - 1;
}

function decodeOne(mem8: Uint8Array, p0: number, end: number, eip: number, supervisor: boolean): Insn | null {
  let p = p0;
  const byte = (): number => (p < end ? mem8[p++]! : -1);
  let op = byte();
  if (op < 0) return null;
  let gs = false;
  let o16 = false;
  let lock = false;
  let rep = false;
  if (op === 0xf3) {
    rep = true;
    op = byte();
    if (op < 0) return null;
  }
  if (op === 0xf0) {
    lock = true;
    op = byte();
    if (op < 0) return null;
  }
  if (op === 0x66) {
    o16 = true;
    op = byte();
    if (op < 0 || !O16_OPS.has(op)) return null;
  }
  if (op === 0x26 || op === 0x36 || op === 0x3e || op === 0x65) {
    // One segment prefix. ES, SS and DS are flat in the mode the JIT runs in (base 0,
    // 4 GiB, readable and writable), so their prefixes change nothing; GS (TLS, the
    // stack-protector canary) adds its base.
    gs = op === 0x65;
    op = byte();
    if (op < 0) return null;
  }
  if (rep && !isStringMove(op)) return null;
  if (op === 0x0f) {
    const b = byte();
    if (b < 0) return null;
    op = 0x100 | b;
  }
  if (gs && op === 0x1ae) return null; // the sys import takes a flat address
  const f = form(op, supervisor);
  if (f === Form.No) return null;
  const insn: Insn = {
    eip, len: 0, op, modrm: -1, reg: 0, rmReg: -1, mem: false, base: -1, index: -1, scale: 0, disp: 0, imm: 0,
    end: BlockEnd.None, target: 0, gs, o16, lock, rep, thunk: -1, got: -1, cross: 0, crossWord: 0,
  };
  if (f === Form.ModRM) {
    const m = byte();
    if (m < 0) return null;
    insn.modrm = m;
    insn.reg = (m >> 3) & 7;
    const mod = m >> 6;
    const rm = m & 7;
    if (!groupOk(op, insn.reg, mod)) return null;
    if (o16 && op === 0xff && insn.reg > 1) return null; // CALL/JMP/PUSH r/m16
    if (mod === 3) {
      insn.rmReg = rm;
    } else {
      insn.mem = true;
      p = decodeMemOperand32(mem8, p, end, m, operand);
      if (p < 0) return null;
      insn.base = operand.base;
      insn.index = operand.index;
      insn.scale = operand.scale;
      insn.disp = operand.disp;
    }
  } else if (op >= 0xa0 && op <= 0xa3) {
    // MOV AL/EAX, moffs / MOV moffs, AL/EAX: an absolute address, no ModRM.
    if (lock) return null;
    const d = read32(mem8, p, end);
    if (d === null) return null;
    insn.mem = true;
    insn.disp = d;
    p += 4;
    insn.len = p - p0;
    return finish(insn, eip);
  }
  if (lock && !lockable(insn)) return null;
  // SHLD/SHRD by an imm8 that masks to 0 change nothing: left to the interpreter rather than special-cased.
  if ((op === 0x1a4 || op === 0x1ac) && (p >= end || (mem8[p]! & 31) === 0)) return null;
  // 8-bit shifts by 8..31 (or a masked 0) are rare and have count-dependent edge cases: the interpreter's.
  if (op === 0xc0 && (p >= end || (mem8[p]! & 31) === 0 || (mem8[p]! & 31) > 7)) return null;
  const isz = o16 && immSize(op, insn.reg) === 4 ? 2 : immSize(op, insn.reg);
  if (isz === 1) {
    const b = byte();
    if (b < 0) return null;
    insn.imm = (b << 24) >> 24;
  } else if (isz === 2) {
    if (p + 2 > end) return null;
    insn.imm = mem8[p]! | (mem8[p + 1]! << 8);
    p += 2;
  } else if (isz === 4) {
    const d = read32(mem8, p, end);
    if (d === null) return null;
    insn.imm = d;
    p += 4;
  }
  insn.len = p - p0;
  return finish(insn, eip);
}

function finish(insn: Insn, eip: number): Insn {
  const next = (eip + insn.len) | 0;
  const op = insn.op;
  if ((op >= 0x70 && op <= 0x7f) || (op >= 0x180 && op <= 0x18f)) {
    insn.end = BlockEnd.Jcc;
    insn.target = (next + insn.imm) | 0;
  } else if (op === 0xeb || op === 0xe9) {
    insn.end = BlockEnd.Jmp;
    insn.target = (next + insn.imm) | 0;
  } else if (op === 0xe8) {
    insn.end = BlockEnd.Call;
    insn.target = (next + insn.imm) | 0;
  } else if (op === 0xc3) {
    insn.end = BlockEnd.Ret;
  } else if (op === 0xff && insn.reg === 2) {
    insn.end = BlockEnd.CallInd;
  } else if (op === 0xff && insn.reg === 4) {
    insn.end = BlockEnd.JmpInd;
  } else if (op === 0x122 || op === 0x134 || op === 0x135) {
    insn.end = BlockEnd.Leave;
  }
  return insn;
}

function read32(mem8: Uint8Array, p: number, end: number): number | null {
  if (p + 4 > end) return null;
  return mem8[p]! | (mem8[p + 1]! << 8) | (mem8[p + 2]! << 16) | (mem8[p + 3]! << 24);
}
