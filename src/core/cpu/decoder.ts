/**
 * Instruction decoding shared by the interpreter: legacy prefixes
 * (SDM Vol. 2 2.1.1), and ModRM/SIB effective-address computation for 16-
 * and 32-bit addressing (SDM Vol. 2 tables 2-1, 2-2, 2-3), including the
 * default SS segment for BP/EBP/ESP-based addresses. The opcode-level facts
 * (which opcodes have a ModRM byte, lockability) come from opcode-table.ts.
 */
import type { CpuCore } from './state.ts';
import { S_DS, S_SS, S_ES, S_CS, S_FS, S_GS } from './constants.ts';
import { fetch8, fetch16, fetch32 } from './fetch.ts';
import { raiseGP } from './exceptions.ts';
import { disassemble } from './disasm.ts';
import { debugRead8 } from './debug-memory.ts';

/** 1 for legacy prefix bytes. */
export const IS_PREFIX = new Uint8Array(256);
for (const b of [0x26, 0x2e, 0x36, 0x3e, 0x64, 0x65, 0x66, 0x67, 0xf0, 0xf2, 0xf3]) IS_PREFIX[b] = 1;

export function resetPrefixes(c: CpuCore): void {
  c.pfx = 0;
  c.o32 = c.cs32;
  c.a32 = c.cs32;
  c.segOvr = -1;
  c.rep = 0;
  c.lock = false;
  c.prefixCount = 0;
}

/** Consume prefixes starting with byte `b`; returns the first opcode byte. */
export function decodePrefixes(c: CpuCore, b: number): number {
  c.pfx = 1;
  for (;;) {
    switch (b) {
      case 0x26: c.segOvr = S_ES; break;
      case 0x2e: c.segOvr = S_CS; break;
      case 0x36: c.segOvr = S_SS; break;
      case 0x3e: c.segOvr = S_DS; break;
      case 0x64: c.segOvr = S_FS; break;
      case 0x65: c.segOvr = S_GS; break;
      case 0x66: c.o32 = !c.cs32; break;
      case 0x67: c.a32 = !c.cs32; break;
      case 0xf0: c.lock = true; break;
      case 0xf2: case 0xf3: c.rep = b; break;
      default:
        if (c.prefixCount >= 4) checkLength(c);
        return b;
    }
    if (++c.prefixCount >= 15) raiseGP(c, 0);
    b = fetch8(c);
  }
}

const lenBuf = new Uint8Array(16);

/**
 * An instruction longer than 15 bytes raises #GP(0) (SDM Vol. 2 2.3.11).
 * Without prefixes no instruction exceeds 12 bytes, so only instructions
 * with 4+ prefixes are measured, with the table-driven disassembler over a
 * fault-free peek of the code bytes (unreadable bytes: the fetch will fault).
 */
function checkLength(c: CpuCore): void {
  const base = (c.segBase[S_CS] + c.eipStart) | 0;
  for (let i = 0; i < 16; i++) {
    const v = debugRead8(c, (base + i) | 0);
    if (v < 0) return;
    lenBuf[i] = v;
  }
  if (disassemble(lenBuf, 0, c.cs32).length > 15) raiseGP(c, 0);
}

/** Decode the memory operand of `modrm` (mod != 3) into c.ea / c.eaSeg. */
export function decodeEA(c: CpuCore, modrm: number): void {
  if (c.a32) decodeEA32(c, modrm);
  else decodeEA16(c, modrm);
}

function decodeEA32(c: CpuCore, modrm: number): void {
  const mod = modrm >> 6;
  const rm = modrm & 7;
  const r = c.regs;
  let addr: number;
  let seg = S_DS;
  if (rm === 4) {
    const sib = fetch8(c);
    const base = sib & 7;
    const idx = (sib >> 3) & 7;
    if (base === 5 && mod === 0) {
      addr = fetch32(c);
      c.sibBaseEsp = false;
    } else {
      addr = r[base];
      if (base === 4 || base === 5) seg = S_SS;
      c.sibBaseEsp = base === 4;
    }
    if (idx !== 4) addr = (addr + (r[idx] << (sib >> 6))) | 0;
  } else if (rm === 5 && mod === 0) {
    c.ea = fetch32(c);
    c.eaSeg = c.segOvr >= 0 ? c.segOvr : S_DS;
    return;
  } else {
    addr = r[rm];
    if (rm === 5) seg = S_SS;
  }
  if (mod === 1) addr = (addr + ((fetch8(c) << 24) >> 24)) | 0;
  else if (mod === 2) addr = (addr + fetch32(c)) | 0;
  c.ea = addr;
  c.eaSeg = c.segOvr >= 0 ? c.segOvr : seg;
}

function decodeEA16(c: CpuCore, modrm: number): void {
  const mod = modrm >> 6;
  const rm = modrm & 7;
  const r = c.regs;
  let addr: number;
  let seg = S_DS;
  switch (rm) {
    case 0: addr = r[3] + r[6]; break; // BX+SI
    case 1: addr = r[3] + r[7]; break; // BX+DI
    case 2: addr = r[5] + r[6]; seg = S_SS; break; // BP+SI
    case 3: addr = r[5] + r[7]; seg = S_SS; break; // BP+DI
    case 4: addr = r[6]; break;
    case 5: addr = r[7]; break;
    case 6:
      if (mod === 0) {
        c.ea = fetch16(c);
        c.eaSeg = c.segOvr >= 0 ? c.segOvr : S_DS;
        return;
      }
      addr = r[5];
      seg = S_SS;
      break;
    default: addr = r[3]; break;
  }
  if (mod === 1) addr += (fetch8(c) << 24) >> 24;
  else if (mod === 2) addr += fetch16(c);
  c.ea = addr & 0xffff;
  c.eaSeg = c.segOvr >= 0 ? c.segOvr : seg;
}

/** Effective segment for string sources (DS:eSI, overridable). */
export function strSrcSeg(c: CpuCore): number {
  return c.segOvr >= 0 ? c.segOvr : S_DS;
}
