/**
 * Stack pushes and pops through SS with the stack-address size of SS.B
 * (SDM Vol. 1 6.2). Each helper writes/reads memory first and updates ESP
 * only afterwards, so a #SS/#PF leaves ESP untouched.
 */
import type { CpuCore } from './state.ts';
import { S_SS } from './constants.ts';
import { rd16, rd32, wr16, wr32 } from './access.ts';

export function push32(c: CpuCore, v: number): void {
  const esp = c.regs[4];
  if (c.ss32) {
    const n = (esp - 4) | 0;
    wr32(c, S_SS, n, v);
    c.regs[4] = n;
  } else {
    const n = (esp - 4) & 0xffff;
    wr32(c, S_SS, n, v);
    c.regs[4] = (esp & ~0xffff) | n;
  }
}

export function push16(c: CpuCore, v: number): void {
  const esp = c.regs[4];
  if (c.ss32) {
    const n = (esp - 2) | 0;
    wr16(c, S_SS, n, v & 0xffff);
    c.regs[4] = n;
  } else {
    const n = (esp - 2) & 0xffff;
    wr16(c, S_SS, n, v & 0xffff);
    c.regs[4] = (esp & ~0xffff) | n;
  }
}

/** Push with the current operand size. */
export function pushV(c: CpuCore, v: number): void {
  if (c.o32) push32(c, v);
  else push16(c, v);
}

export function pop32(c: CpuCore): number {
  const esp = c.regs[4];
  if (c.ss32) {
    const v = rd32(c, S_SS, esp);
    c.regs[4] = (esp + 4) | 0;
    return v;
  }
  const v = rd32(c, S_SS, esp & 0xffff);
  c.regs[4] = (esp & ~0xffff) | ((esp + 4) & 0xffff);
  return v;
}

export function pop16(c: CpuCore): number {
  const esp = c.regs[4];
  if (c.ss32) {
    const v = rd16(c, S_SS, esp);
    c.regs[4] = (esp + 2) | 0;
    return v;
  }
  const v = rd16(c, S_SS, esp & 0xffff);
  c.regs[4] = (esp & ~0xffff) | ((esp + 2) & 0xffff);
  return v;
}

export function popV(c: CpuCore): number {
  return c.o32 ? pop32(c) : pop16(c);
}

/** Read the stack at ESP + `delta` (bytes) without popping, with the stack address size. */
export function peek32(c: CpuCore, delta: number): number {
  const esp = c.regs[4];
  return rd32(c, S_SS, c.ss32 ? (esp + delta) | 0 : (esp + delta) & 0xffff);
}

export function peek16(c: CpuCore, delta: number): number {
  const esp = c.regs[4];
  return rd16(c, S_SS, c.ss32 ? (esp + delta) | 0 : (esp + delta) & 0xffff);
}

/** Stack offset after adding `delta` to ESP, respecting SS.B. */
export function spAdd(c: CpuCore, delta: number): number {
  const esp = c.regs[4];
  return c.ss32 ? (esp + delta) | 0 : (esp & ~0xffff) | ((esp + delta) & 0xffff);
}

/** Write at ESP + delta (bytes; negative below the top) without moving ESP. */
export function poke32(c: CpuCore, delta: number, v: number): void {
  const esp = c.regs[4];
  wr32(c, S_SS, c.ss32 ? (esp + delta) | 0 : (esp + delta) & 0xffff, v);
}

export function poke16(c: CpuCore, delta: number, v: number): void {
  const esp = c.regs[4];
  wr16(c, S_SS, c.ss32 ? (esp + delta) | 0 : (esp + delta) & 0xffff, v);
}
