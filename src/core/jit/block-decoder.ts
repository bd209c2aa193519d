/**
 * Decodes one basic block for the JIT: the instructions from a start address
 * up to the first branch, the first instruction the translator does not
 * handle, the end of the code page, or MAX_BLOCK instructions. Only 32-bit
 * code without prefixes is accepted (flat protected-mode code: what Linux
 * and its userland run nearly all the time); everything else is left to the
 * interpreter, which the block exits to.
 *
 * The decoder reads the guest bytes straight from the memory pool (the
 * block never crosses its page, so one host range holds all of it).
 */
export const MAX_BLOCK = 64;

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
    case 0x6a: case 0xa8: case 0xeb: case 0x80: case 0x83: case 0xc6: case 0xc1: case 0x6b:
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

function form(op: number): Form {
  if (op < 0x40) {
    const lo = op & 7;
    const kind = op >> 3;
    if (lo >= 6 || kind === 2 || kind === 3) return Form.No; // segment push/pop, prefixes, BCD; ADC/SBB
    return lo < 4 ? Form.ModRM : Form.Plain;
  }
  if (op < 0x60) return Form.Plain; // INC/DEC/PUSH/POP r32
  if (op >= 0x70 && op <= 0x7f) return Form.Plain;
  if (op >= 0xb0 && op <= 0xbf) return Form.Plain;
  switch (op) {
    case 0x68: case 0x6a: case 0x90: case 0x98: case 0x99: case 0xa1: case 0xa3: case 0xa8: case 0xa9:
    case 0xc3: case 0xe8: case 0xe9: case 0xeb:
      return Form.Plain;
    case 0x69: case 0x6b:
    case 0x80: case 0x81: case 0x83: case 0x84: case 0x85: case 0x88: case 0x89: case 0x8a: case 0x8b: case 0x8d:
    case 0xc1: case 0xc6: case 0xc7: case 0xd1: case 0xf6: case 0xf7: case 0xfe: case 0xff:
    case 0x1af: case 0x1b6: case 0x1b7: case 0x1be: case 0x1bf:
      return Form.ModRM;
    default:
      if (op >= 0x140 && op <= 0x14f) return Form.ModRM; // CMOVcc
      if (op >= 0x190 && op <= 0x19f) return Form.ModRM; // SETcc
      if (op >= 0x180 && op <= 0x18f) return Form.Plain; // Jcc rel32
      return Form.No;
  }
}

/** Group forms (by ModRM.reg) the translator implements. */
function groupOk(op: number, reg: number, mod: number): boolean {
  switch (op) {
    case 0x80: case 0x81: case 0x83: return reg !== 2 && reg !== 3; // no ADC/SBB
    case 0xc1: case 0xd1: return reg <= 1 || reg === 4 || reg === 5 || reg === 7; // ROL ROR SHL SHR SAR by a constant
    case 0xc6: case 0xc7: return reg === 0;
    case 0xf6: return reg === 0;
    case 0xf7: return reg === 0 || reg === 2 || reg === 3;
    case 0xfe: return reg <= 1;
    case 0xff: return reg <= 2 || reg === 4 || reg === 6;
    case 0x8d: return mod !== 3;
    default: return true;
  }
}

/**
 * Decode from host offset `p` (guest EIP `eip`) while `p < end`. Returns the
 * instructions (possibly none). `mem8` is the pool's byte view.
 */
export function decodeBlock(mem8: Uint8Array, p: number, end: number, eip: number): Insn[] {
  const out: Insn[] = [];
  while (out.length < MAX_BLOCK) {
    const insn = decodeOne(mem8, p, end, eip);
    if (insn === null) break;
    out.push(insn);
    if (insn.end !== BlockEnd.None) break;
    p += insn.len;
    eip = (eip + insn.len) | 0;
  }
  return out;
}

function decodeOne(mem8: Uint8Array, p0: number, end: number, eip: number): Insn | null {
  let p = p0;
  const byte = (): number => (p < end ? mem8[p++]! : -1);
  let op = byte();
  if (op < 0) return null;
  let gs = false;
  if (op === 0x26 || op === 0x36 || op === 0x3e || op === 0x65) {
    // One segment prefix. ES, SS and DS are flat in the mode the JIT runs in (base 0,
    // 4 GiB, readable and writable), so their prefixes change nothing; GS (TLS, the
    // stack-protector canary) adds its base.
    gs = op === 0x65;
    op = byte();
    if (op < 0) return null;
  }
  if (op === 0x0f) {
    const b = byte();
    if (b < 0) return null;
    op = 0x100 | b;
  }
  const f = form(op);
  if (f === Form.No) return null;
  const insn: Insn = {
    eip, len: 0, op, modrm: -1, reg: 0, rmReg: -1, mem: false, base: -1, index: -1, scale: 0, disp: 0, imm: 0,
    end: BlockEnd.None, target: 0, gs,
  };
  if (f === Form.ModRM) {
    const m = byte();
    if (m < 0) return null;
    insn.modrm = m;
    insn.reg = (m >> 3) & 7;
    const mod = m >> 6;
    const rm = m & 7;
    if (!groupOk(op, insn.reg, mod)) return null;
    if (mod === 3) {
      insn.rmReg = rm;
    } else {
      insn.mem = true;
      if (rm === 4) {
        const sib = byte();
        if (sib < 0) return null;
        const idx = (sib >> 3) & 7;
        insn.index = idx === 4 ? -1 : idx;
        insn.scale = sib >> 6;
        const base = sib & 7;
        if (base === 5 && mod === 0) {
          const d = read32(mem8, p, end);
          if (d === null) return null;
          insn.disp = d;
          p += 4;
        } else {
          insn.base = base;
        }
      } else if (rm === 5 && mod === 0) {
        const d = read32(mem8, p, end);
        if (d === null) return null;
        insn.disp = d;
        p += 4;
      } else {
        insn.base = rm;
      }
      if (mod === 1) {
        const d = byte();
        if (d < 0) return null;
        insn.disp = (d << 24) >> 24;
      } else if (mod === 2) {
        const d = read32(mem8, p, end);
        if (d === null) return null;
        insn.disp = d;
        p += 4;
      }
    }
  } else if (op === 0xa1 || op === 0xa3) {
    // MOV EAX, moffs32 / MOV moffs32, EAX: an absolute address, no ModRM.
    const d = read32(mem8, p, end);
    if (d === null) return null;
    insn.mem = true;
    insn.disp = d;
    p += 4;
    insn.len = p - p0;
    return finish(insn, eip);
  }
  const isz = immSize(op, insn.reg);
  if (isz === 1) {
    const b = byte();
    if (b < 0) return null;
    insn.imm = (b << 24) >> 24;
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
  }
  return insn;
}

function read32(mem8: Uint8Array, p: number, end: number): number | null {
  if (p + 4 > end) return null;
  return mem8[p]! | (mem8[p + 1]! << 8) | (mem8[p + 2]! << 16) | (mem8[p + 3]! << 24);
}
