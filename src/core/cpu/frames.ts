/**
 * Multi-part stack instructions: PUSHA/POPA, ENTER (with nesting levels,
 * SDM Vol. 2 ENTER operation) and LEAVE, plus BOUND. All memory accesses
 * happen before any register is committed, so faults restart cleanly.
 */
import type { CpuCore } from './state.ts';
import { S_SS } from './constants.ts';
import { rd16, rd32, wr16, wr32, probeWrite } from './access.ts';
import { peek16, peek32, poke16, poke32, spAdd } from './stack.ts';
import { raiseBR, raiseUD } from './exceptions.ts';

export function pusha(c: CpuCore): void {
  const r = c.regs;
  const esp = r[4];
  if (c.o32) {
    for (let i = 0; i < 8; i++) poke32(c, -4 * (i + 1), i === 4 ? esp : r[i]);
    r[4] = spAdd(c, -32);
  } else {
    for (let i = 0; i < 8; i++) poke16(c, -2 * (i + 1), i === 4 ? esp : r[i]);
    r[4] = spAdd(c, -16);
  }
}

export function popa(c: CpuCore): void {
  const r = c.regs;
  if (c.o32) {
    const v0 = peek32(c, 28); const v1 = peek32(c, 24); const v2 = peek32(c, 20); const v3 = peek32(c, 16);
    const v5 = peek32(c, 8); const v6 = peek32(c, 4); const v7 = peek32(c, 0);
    r[0] = v0; r[1] = v1; r[2] = v2; r[3] = v3; r[5] = v5; r[6] = v6; r[7] = v7;
    r[4] = spAdd(c, 32);
  } else {
    const v0 = peek16(c, 14); const v1 = peek16(c, 12); const v2 = peek16(c, 10); const v3 = peek16(c, 8);
    const v5 = peek16(c, 4); const v6 = peek16(c, 2); const v7 = peek16(c, 0);
    const set = (n: number, v: number): void => { r[n] = (r[n] & ~0xffff) | v; };
    set(0, v0); set(1, v1); set(2, v2); set(3, v3); set(5, v5); set(6, v6); set(7, v7);
    r[4] = spAdd(c, 16);
  }
}

/** ENTER size, level. */
export function enter(c: CpuCore, size: number, level: number): void {
  level &= 31;
  const r = c.regs;
  const o32 = c.o32;
  const w = o32 ? 4 : 2;
  const big = c.ss32;
  const mask = big ? -1 : 0xffff;
  let sp = r[4] & mask;
  let bp = r[5] & mask;
  const push = (v: number): void => {
    sp = (sp - w) & mask;
    if (o32) wr32(c, S_SS, sp, v);
    else wr16(c, S_SS, sp, v);
  };
  push(r[5]);
  const frameTemp = sp;
  if (level > 0) {
    for (let i = 1; i < level; i++) {
      bp = (bp - w) & mask;
      push(o32 ? rd32(c, S_SS, bp) : rd16(c, S_SS, bp));
    }
    push(frameTemp);
  }
  sp = (sp - size) & mask;
  // Hardware write-probes the new stack top (a #PF there reports CR2 = new ESP).
  probeWrite(c, S_SS, sp, w);
  // The operand size picks BP vs EBP; the stack size picks SP vs ESP.
  r[5] = o32 ? frameTemp : (r[5] & ~0xffff) | (frameTemp & 0xffff);
  r[4] = big ? sp : (r[4] & ~0xffff) | sp;
}

export function leave(c: CpuCore): void {
  const r = c.regs;
  const big = c.ss32;
  const sp = big ? r[5] : r[5] & 0xffff;
  if (c.o32) {
    const v = rd32(c, S_SS, sp);
    r[4] = big ? (sp + 4) | 0 : (r[4] & ~0xffff) | ((sp + 4) & 0xffff);
    r[5] = v;
  } else {
    const v = rd16(c, S_SS, sp);
    r[4] = big ? (sp + 2) | 0 : (r[4] & ~0xffff) | ((sp + 2) & 0xffff);
    r[5] = (r[5] & ~0xffff) | v;
  }
}

/** BOUND r, m: #BR when the signed index is outside [lower, upper]. */
export function bound(c: CpuCore, modrm: number): void {
  if (modrm >= 0xc0) raiseUD(c);
  const idxReg = (modrm >> 3) & 7;
  const seg = c.eaSeg;
  const ea = c.ea;
  if (c.o32) {
    const lo = rd32(c, seg, ea);
    const hi = rd32(c, seg, c.a32 ? (ea + 4) | 0 : (ea + 4) & 0xffff);
    const i = c.regs[idxReg];
    if (i < lo || i > hi) raiseBR(c);
  } else {
    const lo = (rd16(c, seg, ea) << 16) >> 16;
    const hi = (rd16(c, seg, c.a32 ? (ea + 2) | 0 : (ea + 2) & 0xffff) << 16) >> 16;
    const i = (c.regs[idxReg] << 16) >> 16;
    if (i < lo || i > hi) raiseBR(c);
  }
}
