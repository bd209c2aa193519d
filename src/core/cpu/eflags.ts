/**
 * Whole-EFLAGS writes (POPF, IRET, SAHF, CLI/STI, setEflags) and the
 * privilege rules that decide which bits they may change (SDM POPF and IRET
 * operation sections): IOPL only at CPL 0, IF only when CPL <= IOPL, VM/VIF/VIP
 * never through POPF, RF cleared. Also keeps derived state in sync: alignment
 * checking (AC), the event flag for IF/TF changes.
 */
import type { CpuCore } from './state.ts';
import { F_AC, F_ID, F_IOPL, F_IF, F_RF, F_TF } from './constants.ts';
import { materialize } from './flags.ts';
import { tlbSelect } from './tlb.ts';

/** Bits POPF/IRET can ever change (CF..OF, TF, IF, DF, IOPL, NT, AC, ID). */
const WRITABLE = 0x7fd5 | F_AC | F_ID;

/** Replace the EFLAGS bits in `mask` by those of `v`, keeping derived state consistent. */
export function writeEflags(c: CpuCore, v: number, mask: number): void {
  materialize(c);
  const old = c.flags;
  const nf = ((old & ~mask) | (v & mask) | 2) & 0x3f7fd7;
  c.flags = nf;
  if (((old ^ nf) & F_AC) !== 0) tlbSelect(c);
  if (((old ^ nf) & (F_IF | F_TF)) !== 0) c.events = 1;
}

/** The mask of bits POPF may change at the current privilege (protected or real mode). */
export function popfMask(c: CpuCore, o32: boolean): number {
  let m = WRITABLE;
  if (c.pe !== 0) {
    if (c.cpl > 0) m &= ~F_IOPL;
    if (c.cpl > ((c.flags & F_IOPL) >> 12)) m &= ~F_IF;
  }
  if (!o32) m &= 0xffff;
  return m;
}

/** IRET to the same or outer privilege in protected mode: the mask uses the CPL before the return. */
export function iretMask(c: CpuCore, o32: boolean): number {
  let m = WRITABLE | F_RF;
  if (c.cpl > 0) m &= ~F_IOPL;
  if (c.cpl > ((c.flags & F_IOPL) >> 12)) m &= ~F_IF;
  if (!o32) m &= 0xffff;
  return m;
}

/** Real-mode IRET: every writable bit (IOPL/NT included, as on a 386+ in real mode). */
export function iretRealMask(o32: boolean): number {
  return o32 ? (WRITABLE | F_RF) : 0xffff & WRITABLE;
}
