/**
 * Segment descriptors and segment register loads (SDM Vol. 3A 3.4, 5.1-5.6):
 * GDT/LDT lookup, the checks of MOV/POP Sreg and LDS-family loads
 * (#GP/#SS/#NP with selector error codes), the accessed bit, and the hidden
 * cache (base/limit/flags) including the derived fast-path flags.
 * Real mode (and the unsupported V86 mode) loads only selector and base.
 */
import type { CpuCore } from './state.ts';
import {
  S_CS, S_SS, S_LDTR, D_PRESENT, D_CODE, D_RW, D_CE, D_S, D_DB, D_ACCESSED, D_G,
} from './constants.ts';
import { raiseGP, raiseNP, raiseSS } from './exceptions.ts';
import { sysRead32, sysWrite32 } from './memory.ts';
import { invalidateFetch, tlbSelect } from './tlb.ts';

/** segOkBits: the stack is 32-bit (ESP, not SP). */
export const SEG_OK_SS32 = 1 << 12;

/** Recompute segOkR/segOkW/segOkBits and the mode bits derived from CS/SS. */
export function segChanged(c: CpuCore, seg: number): void {
  if (seg < 6) {
    const fl = c.segFlags[seg];
    const flat = (fl & D_PRESENT) !== 0 && c.segLimit[seg] === -1 && (fl & (D_CODE | D_CE)) !== D_CE;
    const real = c.pe === 0;
    c.segOkR[seg] = flat && (real || (fl & D_CODE) === 0 || (fl & D_RW) !== 0) ? 1 : 0;
    c.segOkW[seg] = flat && (real || ((fl & D_CODE) === 0 && (fl & D_RW) !== 0)) ? 1 : 0;
    const zeroBase = c.segBase[seg] === 0 ? 1 : 0;
    c.segOkBits = (c.segOkBits & ~((1 << seg) | (1 << (6 + seg)))) | ((c.segOkR[seg]! & zeroBase) << seg) | ((c.segOkW[seg]! & zeroBase) << (6 + seg));
  }
  if (seg === S_CS) {
    c.cs32 = (c.segFlags[S_CS] & D_DB) !== 0;
    c.pfx = 1; // re-derive default operand/address size before the next instruction
  } else if (seg === S_SS) {
    c.ss32 = (c.segFlags[S_SS] & D_DB) !== 0;
    c.segOkBits = c.ss32 ? c.segOkBits | SEG_OK_SS32 : c.segOkBits & ~SEG_OK_SS32;
  }
}

/** Load a hidden cache directly (bootloader, tests, SYSENTER, real mode). */
export function setSegCache(c: CpuCore, seg: number, sel: number, base: number, limit: number, flags: number): void {
  const eip = (c.fp + c.fpEipBase) | 0;
  c.segSel[seg] = sel & 0xffff;
  c.segBase[seg] = base | 0;
  c.segLimit[seg] = limit | 0;
  c.segFlags[seg] = flags & 0xfff;
  segChanged(c, seg);
  if (seg === S_CS) {
    c.fp = 0;
    c.fpEnd = 0;
    c.fpStart = 0;
    c.fpEipBase = eip;
  }
}

export function descBase(lo: number, hi: number): number {
  return ((lo >>> 16) | ((hi & 0xff) << 16) | (hi & 0xff000000)) | 0;
}

export function descLimit(lo: number, hi: number): number {
  const l = (lo & 0xffff) | (hi & 0xf0000);
  return (hi & 0x800000) !== 0 ? ((l << 12) | 0xfff) : l;
}

/** Access byte | flags nibble << 8, the layout of segFlags. */
export function descFlags(hi: number): number {
  return ((hi >>> 8) & 0xff) | (((hi >>> 20) & 0xf) << 8);
}

/**
 * Fetch the descriptor for `sel` into c.descLo/descHi. Returns false when the
 * selector is outside its table's limit (or names an unusable LDT).
 */
export function readDescriptor(c: CpuCore, sel: number): boolean {
  let base: number;
  let limit: number;
  if ((sel & 4) !== 0) {
    if ((c.segFlags[S_LDTR] & D_PRESENT) === 0) return false;
    base = c.segBase[S_LDTR];
    limit = c.segLimit[S_LDTR] >>> 0;
  } else {
    base = c.gdtBase;
    limit = c.gdtLimit >>> 0;
  }
  const idx = sel & 0xfff8;
  if (idx + 7 > limit) return false;
  c.descLo = sysRead32(c, (base + idx) | 0);
  c.descHi = sysRead32(c, (base + idx + 4) | 0);
  return true;
}

/** Set the accessed bit of the descriptor just read (SDM Vol. 3A 3.4.5.1). */
export function setAccessed(c: CpuCore, sel: number): void {
  if ((c.descHi & 0x100) !== 0) return;
  c.descHi |= 0x100;
  const base = (sel & 4) !== 0 ? c.segBase[S_LDTR] : c.gdtBase;
  sysWrite32(c, (base + (sel & 0xfff8) + 4) | 0, c.descHi);
}

/** Load the cache from c.descLo/descHi. */
export function loadFromDesc(c: CpuCore, seg: number, sel: number): void {
  setSegCache(c, seg, sel, descBase(c.descLo, c.descHi), descLimit(c.descLo, c.descHi), descFlags(c.descHi));
}

/** Real-mode style load: selector and base only (SDM Vol. 3A 20.1.1). */
export function loadSegReal(c: CpuCore, seg: number, sel: number): void {
  sel &= 0xffff;
  c.segSel[seg] = sel;
  c.segBase[seg] = sel << 4;
  if ((c.flags & 0x20000) !== 0) {
    // V86 (unsupported in practice) would also force limit 0xFFFF, DPL 3.
    c.segLimit[seg] = 0xffff;
    c.segFlags[seg] = seg === S_CS ? 0xfb : 0xf3;
  }
  segChanged(c, seg);
  if (seg === S_CS) invalidateFetch(c);
}

/**
 * MOV Sreg / POP Sreg / LxS: load a data segment register or SS with the
 * protected-mode checks (SDM Vol. 3A 5.10.4 / MOV instruction reference).
 */
export function loadSeg(c: CpuCore, seg: number, sel: number): void {
  sel &= 0xffff;
  if (c.pe === 0 || (c.flags & 0x20000) !== 0) {
    loadSegReal(c, seg, sel);
    return;
  }
  const rpl = sel & 3;
  if ((sel & 0xfffc) === 0) {
    if (seg === S_SS) raiseGP(c, 0);
    // Null selector: loadable into data segment registers; any use faults.
    c.segSel[seg] = sel;
    c.segBase[seg] = 0;
    c.segLimit[seg] = 0;
    c.segFlags[seg] = 0;
    segChanged(c, seg);
    return;
  }
  if (!readDescriptor(c, sel)) raiseGP(c, sel & 0xfffc);
  const acc = (c.descHi >>> 8) & 0xff;
  const dpl = (acc >> 5) & 3;
  if (seg === S_SS) {
    if (rpl !== c.cpl || dpl !== c.cpl || (acc & D_S) === 0 || (acc & D_CODE) !== 0 || (acc & D_RW) === 0) raiseGP(c, sel & 0xfffc);
    if ((acc & D_PRESENT) === 0) raiseSS(c, sel & 0xfffc);
  } else {
    if ((acc & D_S) === 0) raiseGP(c, sel & 0xfffc);
    if ((acc & D_CODE) !== 0 && (acc & D_RW) === 0) raiseGP(c, sel & 0xfffc);
    // Data and non-conforming code: DPL >= max(CPL, RPL).
    if (((acc & D_CODE) === 0 || (acc & D_CE) === 0) && (dpl < c.cpl || dpl < rpl)) raiseGP(c, sel & 0xfffc);
    if ((acc & D_PRESENT) === 0) raiseNP(c, sel & 0xfffc);
  }
  setAccessed(c, sel);
  loadFromDesc(c, seg, sel);
}

/** Set the CPL and everything derived from it. */
export function setCpl(c: CpuCore, cpl: number): void {
  if (c.cpl !== cpl) {
    c.cpl = cpl;
    invalidateFetch(c);
  }
  tlbSelect(c);
}

/**
 * After a return to an outer privilege level: data segment registers whose
 * DPL is below the new CPL are nulled (SDM RET/IRET "ReturnToOuterPrivilegeLevel").
 */
export function nullInaccessibleSegs(c: CpuCore): void {
  for (let s = 0; s < 6; s++) {
    if (s === S_CS || s === S_SS) continue;
    const fl = c.segFlags[s];
    const dpl = (fl >> 5) & 3;
    const dataOrNcCode = (fl & D_CODE) === 0 || (fl & D_CE) === 0;
    if ((fl & D_PRESENT) !== 0 && dataOrNcCode && dpl < c.cpl) {
      c.segSel[s] = 0;
      c.segBase[s] = 0;
      c.segLimit[s] = 0;
      c.segFlags[s] = 0;
      segChanged(c, s);
    }
  }
}

/** Flags for a flat 4 GiB segment built by SYSENTER/SYSEXIT and tests. */
export function flatFlags(code: boolean, dpl: number): number {
  return (code ? 0x9b : 0x93) | (dpl << 5) | D_DB | D_G | D_ACCESSED;
}
