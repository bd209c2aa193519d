/**
 * System instructions: MOV to/from CR0/2/3/4 and DR0-7, LGDT/LIDT/SGDT/SIDT,
 * LLDT/SLDT/LTR/STR, LAR/LSL/VERR/VERW, CLTS/LMSW/SMSW, INVLPG, RDTSC,
 * SYSENTER/SYSEXIT (SDM Vol. 2 entries; Vol. 3A 2.5 for control registers).
 * Privileged ones raise #GP(0) above CPL 0; the descriptor-inspecting ones
 * are #UD outside protected mode.
 *
 * Debug registers are stored (DR6/DR7 with their fixed bits) but DR0-3
 * breakpoints are not armed: only single-step (TF) produces #DB.
 */
import type { CpuCore } from './state.ts';
import {
  CR0_PE, CR0_PG, CR0_WP, CR0_TS, CR0_ET, CR0_NW, CR0_CD, CR4_PGE, CR4_PSE, CR4_SUPPORTED, CR4_DE,
  S_CS, S_SS, S_LDTR, S_TR, D_PRESENT, D_S, D_CODE, D_CE, D_RW, F_IF, F_VM, F_RF, CR4_TSD,
} from './constants.ts';
import { raiseGP, raiseNP, raiseUD } from './exceptions.ts';
import { tlbFlush, tlbInvalidatePage, tlbSelect, invalidateFetch, setEipRaw } from './tlb.ts';
import { readDescriptor, loadFromDesc, descBase, descLimit, descFlags, setSegCache, setCpl, flatFlags, segChanged } from './segmentation.ts';
import { sysWrite32 } from './memory.ts';
import { materialize, setSomeFlags } from './flags.ts';
import { F_ZF } from './constants.ts';
import { readTsc } from './msr.ts';

export function requireCpl0(c: CpuCore): void {
  if (c.pe !== 0 && (c.cpl !== 0 || (c.flags & F_VM) !== 0)) raiseGP(c, 0);
}

export function requireProtected(c: CpuCore): void {
  if (c.pe === 0 || (c.flags & F_VM) !== 0) raiseUD(c);
}

// ---------- control registers ----------

export function writeCr0(c: CpuCore, v: number): void {
  v = (v | CR0_ET) & (0xe005003f | 0);
  if ((v & CR0_PG) !== 0 && (v & CR0_PE) === 0) raiseGP(c, 0);
  if ((v & CR0_NW) !== 0 && (v & CR0_CD) === 0) raiseGP(c, 0);
  const old = c.cr0;
  c.cr0 = v;
  if (((old ^ v) & (CR0_PG | CR0_WP | CR0_PE)) !== 0) tlbFlush(c, false);
  if (((old ^ v) & CR0_PE) !== 0) {
    c.pe = v & 1;
    if (c.pe === 0) setCpl(c, 0);
    // The segment fast-path flags depend on the mode (type checks only apply in protected mode).
    for (let s = 0; s < 6; s++) segChanged(c, s);
  }
  tlbSelect(c);
  invalidateFetch(c);
}

export function writeCr3(c: CpuCore, v: number): void {
  c.cr3 = v & ~0xfe7;
  tlbFlush(c, (c.cr4 & CR4_PGE) !== 0);
}

export function writeCr4(c: CpuCore, v: number): void {
  if ((v & ~CR4_SUPPORTED) !== 0) raiseGP(c, 0);
  const old = c.cr4;
  c.cr4 = v;
  if (((old ^ v) & (CR4_PGE | CR4_PSE)) !== 0) {
    // Toggling PGE flushes everything including global entries (SDM Vol. 3A 4.10.4.1).
    tlbFlush(c, false);
  }
}

export function movToCr(c: CpuCore, n: number, v: number): void {
  if (n === 1 || n > 4) raiseUD(c); // #UD takes precedence over the CPL check
  requireCpl0(c);
  switch (n) {
    case 0: writeCr0(c, v); break;
    case 2: c.cr2 = v; break;
    case 3: writeCr3(c, v); break;
    case 4: writeCr4(c, v); break;
    default: raiseUD(c);
  }
}

export function movFromCr(c: CpuCore, n: number): number {
  if (n === 1 || n > 4) raiseUD(c);
  requireCpl0(c);
  switch (n) {
    case 0: return c.cr0;
    case 2: return c.cr2;
    case 3: return c.cr3;
    case 4: return c.cr4;
    default: return raiseUD(c);
  }
}

export function movToDr(c: CpuCore, n: number, v: number): void {
  if ((n === 4 || n === 5) && (c.cr4 & CR4_DE) !== 0) raiseUD(c);
  requireCpl0(c);
  if (n === 4 || n === 5) n += 2;
  if (n === 6) v = (v & 0xe00f) | (0xffff0ff0 | 0);
  else if (n === 7) v = (v & ~0xd800) | 0x400;
  c.dr[n] = v;
}

export function movFromDr(c: CpuCore, n: number): number {
  if ((n === 4 || n === 5) && (c.cr4 & CR4_DE) !== 0) raiseUD(c);
  requireCpl0(c);
  if (n === 4 || n === 5) n += 2;
  return c.dr[n];
}

export function clts(c: CpuCore): void {
  requireCpl0(c);
  c.cr0 &= ~CR0_TS;
}

/** LMSW: loads PE (cannot clear it), MP, EM, TS. */
export function lmsw(c: CpuCore, v: number): void {
  requireCpl0(c);
  const nv = (c.cr0 & ~0xe) | (v & 0xf) | (c.cr0 & 1);
  writeCr0(c, nv);
}

export function invlpg(c: CpuCore, lin: number): void {
  requireCpl0(c);
  tlbInvalidatePage(c, lin);
}

// ---------- descriptor tables ----------

export function loadDescriptorTable(c: CpuCore, idt: boolean, limit: number, base: number): void {
  requireCpl0(c);
  if (!c.o32) base &= 0xffffff;
  if (idt) {
    c.idtBase = base | 0;
    c.idtLimit = limit & 0xffff;
  } else {
    c.gdtBase = base | 0;
    c.gdtLimit = limit & 0xffff;
  }
}

export function lldt(c: CpuCore, sel: number): void {
  requireProtected(c);
  requireCpl0(c);
  sel &= 0xffff;
  if ((sel & 0xfffc) === 0) {
    setSegCache(c, S_LDTR, sel, 0, 0, 0);
    return;
  }
  if ((sel & 4) !== 0) raiseGP(c, sel & 0xfffc);
  if (!readDescriptor(c, sel)) raiseGP(c, sel & 0xfffc);
  const acc = (c.descHi >>> 8) & 0xff;
  if ((acc & 0x1f) !== 0x02) raiseGP(c, sel & 0xfffc);
  if ((acc & D_PRESENT) === 0) raiseNP(c, sel & 0xfffc);
  loadFromDesc(c, S_LDTR, sel);
}

export function ltr(c: CpuCore, sel: number): void {
  requireProtected(c);
  requireCpl0(c);
  sel &= 0xffff;
  if ((sel & 0xfffc) === 0 || (sel & 4) !== 0) raiseGP(c, sel & 0xfffc);
  if (!readDescriptor(c, sel)) raiseGP(c, sel & 0xfffc);
  const acc = (c.descHi >>> 8) & 0xff;
  const type = acc & 0x1f;
  if (type !== 0x01 && type !== 0x09) raiseGP(c, sel & 0xfffc);
  if ((acc & D_PRESENT) === 0) raiseNP(c, sel & 0xfffc);
  // Mark the TSS busy in the GDT.
  c.descHi |= 0x200;
  sysWrite32(c, (c.gdtBase + (sel & 0xfff8) + 4) | 0, c.descHi);
  setSegCache(c, S_TR, sel, descBase(c.descLo, c.descHi), descLimit(c.descLo, c.descHi), descFlags(c.descHi));
}

/**
 * Common part of LAR/LSL/VERR/VERW: returns true when the descriptor is
 * visible at the current CPL/RPL (descriptor left in descLo/descHi).
 */
function inspectable(c: CpuCore, sel: number, systemOk: (type: number) => boolean): boolean {
  if ((sel & 0xfffc) === 0 || !readDescriptor(c, sel)) return false;
  const acc = (c.descHi >>> 8) & 0xff;
  if ((acc & D_S) === 0) {
    if (!systemOk(acc & 0xf)) return false;
  }
  const dpl = (acc >> 5) & 3;
  const conformingCode = (acc & (D_S | D_CODE | D_CE)) === (D_S | D_CODE | D_CE);
  if (!conformingCode && (dpl < c.cpl || dpl < (sel & 3))) return false;
  return true;
}

const LAR_TYPES = (t: number): boolean => t === 1 || t === 2 || t === 3 || t === 4 || t === 5 || t === 9 || t === 0xb || t === 0xc;
const LSL_TYPES = (t: number): boolean => t === 1 || t === 2 || t === 3 || t === 9 || t === 0xb;
const NO_SYSTEM = (): boolean => false;

/** LAR: returns the access rights or -1 (ZF cleared). */
export function lar(c: CpuCore, sel: number): number {
  requireProtected(c);
  if (!inspectable(c, sel & 0xffff, LAR_TYPES)) {
    setSomeFlags(c, F_ZF, 0);
    return -1;
  }
  setSomeFlags(c, F_ZF, F_ZF);
  return c.descHi & 0x00f0ff00;
}

export function lsl(c: CpuCore, sel: number): number {
  requireProtected(c);
  if (!inspectable(c, sel & 0xffff, LSL_TYPES)) {
    setSomeFlags(c, F_ZF, 0);
    return -1;
  }
  setSomeFlags(c, F_ZF, F_ZF);
  return descLimit(c.descLo, c.descHi);
}

export function verr(c: CpuCore, sel: number, write: boolean): void {
  requireProtected(c);
  let ok = inspectable(c, sel & 0xffff, NO_SYSTEM);
  if (ok) {
    const acc = (c.descHi >>> 8) & 0xff;
    if (write) ok = (acc & D_CODE) === 0 && (acc & D_RW) !== 0;
    else ok = (acc & D_CODE) === 0 || (acc & D_RW) !== 0;
  }
  setSomeFlags(c, F_ZF, ok ? F_ZF : 0);
}

// ---------- SYSENTER / SYSEXIT (SDM Vol. 2, Vol. 3A 5.8.7) ----------

export function sysenter(c: CpuCore): void {
  loadSysenterSegments(c);
  materialize(c);
  c.flags &= ~(F_VM | F_IF | F_RF);
  c.events = 1;
  c.regs[4] = c.sysenterEsp;
  setEipRaw(c, c.sysenterEip);
}

/** SYSENTER's checks, CS, SS and CPL 0; the caller sets ESP and EIP and clears VM, IF and RF (the JIT keeps EFLAGS itself). */
export function loadSysenterSegments(c: CpuCore): void {
  const cs = c.sysenterCs & 0xfffc;
  if (c.pe === 0 || cs === 0) raiseGP(c, 0);
  setSegCache(c, S_CS, cs, 0, -1, flatFlags(true, 0));
  setSegCache(c, S_SS, (cs + 8) & 0xfffc, 0, -1, flatFlags(false, 0));
  setCpl(c, 0);
}

export function sysexit(c: CpuCore): void {
  loadSysexitSegments(c);
  c.regs[4] = c.regs[1];
  setEipRaw(c, c.regs[2]);
}

/** SYSEXIT's checks, CS, SS and CPL 3; the caller sets ESP = ECX and EIP = EDX. */
export function loadSysexitSegments(c: CpuCore): void {
  const cs = c.sysenterCs & 0xfffc;
  if (c.pe === 0 || cs === 0 || c.cpl !== 0) raiseGP(c, 0);
  setSegCache(c, S_CS, ((cs + 16) & 0xfffc) | 3, 0, -1, flatFlags(true, 3));
  setSegCache(c, S_SS, ((cs + 24) & 0xfffc) | 3, 0, -1, flatFlags(false, 3));
  setCpl(c, 3);
}

/** RDTSC into EDX:EAX; #GP(0) when CR4.TSD and CPL > 0. */
export function rdtsc(c: CpuCore): void {
  if ((c.cr4 & CR4_TSD) !== 0 && c.cpl !== 0 && c.pe !== 0) raiseGP(c, 0);
  const t = readTsc(c);
  c.regs[0] = (t % 4294967296) | 0;
  c.regs[2] = Math.floor(t / 4294967296) | 0;
}
