/**
 * ModRM operand access for the interpreter: 8/16/32-bit general registers
 * (AL..BH encoding of 8-bit registers, SDM Vol. 2 table 2-2) and the r/m
 * operand, which is either a register (mod = 3) or the memory location
 * decoded into c.ea / c.eaSeg. Also the ALU instruction forms.
 */
import type { CpuCore } from './state.ts';
import { rd8, rd16, rd32, wr8, wr16, wr32, rmw8, rmw16, rmw32 } from './access.ts';
import { alu, ALU_CMP } from './alu.ts';
import { fetch8, fetch16, fetch32 } from './fetch.ts';

export function getReg8(c: CpuCore, n: number): number {
  return n < 4 ? c.regs[n] & 0xff : (c.regs[n - 4] >> 8) & 0xff;
}

export function setReg8(c: CpuCore, n: number, v: number): void {
  if (n < 4) c.regs[n] = (c.regs[n] & ~0xff) | (v & 0xff);
  else c.regs[n - 4] = (c.regs[n - 4] & ~0xff00) | ((v & 0xff) << 8);
}

export function setReg16(c: CpuCore, n: number, v: number): void {
  c.regs[n] = (c.regs[n] & ~0xffff) | (v & 0xffff);
}

/** Write a register with the current operand size (16-bit writes keep the upper half). */
export function setRegV(c: CpuCore, n: number, v: number): void {
  if (c.o32) c.regs[n] = v;
  else c.regs[n] = (c.regs[n] & ~0xffff) | (v & 0xffff);
}

export function getE8(c: CpuCore, modrm: number): number {
  return modrm >= 0xc0 ? getReg8(c, modrm & 7) : rd8(c, c.eaSeg, c.ea);
}

export function getE16(c: CpuCore, modrm: number): number {
  return modrm >= 0xc0 ? c.regs[modrm & 7] & 0xffff : rd16(c, c.eaSeg, c.ea);
}

export function getE32(c: CpuCore, modrm: number): number {
  return modrm >= 0xc0 ? c.regs[modrm & 7] : rd32(c, c.eaSeg, c.ea);
}

/** r/m with the current operand size (16-bit values zero-extended). */
export function getEv(c: CpuCore, modrm: number): number {
  return c.o32 ? getE32(c, modrm) : getE16(c, modrm);
}

export function setE8(c: CpuCore, modrm: number, v: number): void {
  if (modrm >= 0xc0) setReg8(c, modrm & 7, v);
  else wr8(c, c.eaSeg, c.ea, v);
}

export function setE16(c: CpuCore, modrm: number, v: number): void {
  if (modrm >= 0xc0) setReg16(c, modrm & 7, v);
  else wr16(c, c.eaSeg, c.ea, v);
}

export function setE32(c: CpuCore, modrm: number, v: number): void {
  if (modrm >= 0xc0) c.regs[modrm & 7] = v;
  else wr32(c, c.eaSeg, c.ea, v);
}

export function setEv(c: CpuCore, modrm: number, v: number): void {
  if (c.o32) setE32(c, modrm, v);
  else setE16(c, modrm, v);
}

/** Read r/m for a read-modify-write (memory forms probe writability first). */
export function rmwE8(c: CpuCore, modrm: number): number {
  return modrm >= 0xc0 ? getReg8(c, modrm & 7) : rmw8(c, c.eaSeg, c.ea);
}

export function rmwEv(c: CpuCore, modrm: number): number {
  if (modrm >= 0xc0) return c.o32 ? c.regs[modrm & 7] : c.regs[modrm & 7] & 0xffff;
  return c.o32 ? rmw32(c, c.eaSeg, c.ea) : rmw16(c, c.eaSeg, c.ea);
}

/** Operand-size immediate: imm32 or imm16. */
export function fetchIz(c: CpuCore): number {
  return c.o32 ? fetch32(c) : fetch16(c);
}

// ---------- ALU forms (opcodes 00-3F and group 1) ----------

export function aluEbGb(c: CpuCore, k: number, modrm: number): void {
  const src = getReg8(c, (modrm >> 3) & 7);
  if (modrm >= 0xc0) {
    const d = modrm & 7;
    const v = alu(c, k, getReg8(c, d), src, 0);
    if (k !== ALU_CMP) setReg8(c, d, v);
  } else if (k === ALU_CMP) {
    alu(c, k, rd8(c, c.eaSeg, c.ea), src, 0);
  } else {
    const v = rmw8(c, c.eaSeg, c.ea);
    wr8(c, c.eaSeg, c.ea, alu(c, k, v, src, 0));
  }
}

export function aluEvGv(c: CpuCore, k: number, modrm: number): void {
  const r = c.regs;
  const src = r[(modrm >> 3) & 7];
  if (c.o32) {
    if (modrm >= 0xc0) {
      const d = modrm & 7;
      const v = alu(c, k, r[d], src, 2);
      if (k !== ALU_CMP) r[d] = v;
    } else if (k === ALU_CMP) {
      alu(c, k, rd32(c, c.eaSeg, c.ea), src, 2);
    } else {
      const v = rmw32(c, c.eaSeg, c.ea);
      wr32(c, c.eaSeg, c.ea, alu(c, k, v, src, 2));
    }
  } else if (modrm >= 0xc0) {
    const d = modrm & 7;
    const v = alu(c, k, r[d], src, 1);
    if (k !== ALU_CMP) r[d] = (r[d] & ~0xffff) | v;
  } else if (k === ALU_CMP) {
    alu(c, k, rd16(c, c.eaSeg, c.ea), src, 1);
  } else {
    const v = rmw16(c, c.eaSeg, c.ea);
    wr16(c, c.eaSeg, c.ea, alu(c, k, v, src, 1));
  }
}

export function aluGbEb(c: CpuCore, k: number, modrm: number): void {
  const d = (modrm >> 3) & 7;
  const v = alu(c, k, getReg8(c, d), getE8(c, modrm), 0);
  if (k !== ALU_CMP) setReg8(c, d, v);
}

export function aluGvEv(c: CpuCore, k: number, modrm: number): void {
  const r = c.regs;
  const d = (modrm >> 3) & 7;
  if (c.o32) {
    const v = alu(c, k, r[d], getE32(c, modrm), 2);
    if (k !== ALU_CMP) r[d] = v;
  } else {
    const v = alu(c, k, r[d], getE16(c, modrm), 1);
    if (k !== ALU_CMP) r[d] = (r[d] & ~0xffff) | v;
  }
}

export function aluALIb(c: CpuCore, k: number): void {
  const v = alu(c, k, c.regs[0], fetch8(c), 0);
  if (k !== ALU_CMP) c.regs[0] = (c.regs[0] & ~0xff) | v;
}

export function aluEAXIz(c: CpuCore, k: number): void {
  if (c.o32) {
    const v = alu(c, k, c.regs[0], fetch32(c), 2);
    if (k !== ALU_CMP) c.regs[0] = v;
  } else {
    const v = alu(c, k, c.regs[0], fetch16(c), 1);
    if (k !== ALU_CMP) c.regs[0] = (c.regs[0] & ~0xffff) | v;
  }
}

/** Group 1 with an immediate already fetched: Eb,Ib (sz 0) or Ev,Iz/Ibs (sz from o32). */
export function aluEImm(c: CpuCore, k: number, modrm: number, imm: number, sz: number): void {
  if (modrm >= 0xc0) {
    const d = modrm & 7;
    const r = c.regs;
    if (sz === 0) {
      const v = alu(c, k, getReg8(c, d), imm, 0);
      if (k !== ALU_CMP) setReg8(c, d, v);
    } else if (sz === 2) {
      const v = alu(c, k, r[d], imm, 2);
      if (k !== ALU_CMP) r[d] = v;
    } else {
      const v = alu(c, k, r[d], imm, 1);
      if (k !== ALU_CMP) r[d] = (r[d] & ~0xffff) | v;
    }
    return;
  }
  const seg = c.eaSeg;
  const ea = c.ea;
  if (k === ALU_CMP) {
    alu(c, k, sz === 0 ? rd8(c, seg, ea) : sz === 1 ? rd16(c, seg, ea) : rd32(c, seg, ea), imm, sz);
  } else if (sz === 0) {
    wr8(c, seg, ea, alu(c, k, rmw8(c, seg, ea), imm, 0));
  } else if (sz === 1) {
    wr16(c, seg, ea, alu(c, k, rmw16(c, seg, ea), imm, 1));
  } else {
    wr32(c, seg, ea, alu(c, k, rmw32(c, seg, ea), imm, 2));
  }
}
