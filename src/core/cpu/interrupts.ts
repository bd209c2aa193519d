/**
 * Interrupt and exception delivery (SDM Vol. 3A 6.10-6.14): through the IVT
 * in real mode, through interrupt/trap gates in the IDT in protected mode,
 * with the stack switch from the TSS (SS0:ESP0 for ring 0) when entering a
 * more privileged non-conforming code segment.
 *
 * Left out, documented: task gates in the IDT raise #GP(vector*8+2+EXT)
 * (hardware task switching is not implemented; Linux i686 never uses it);
 * interrupts from virtual-8086 mode (V86 mode is not supported at all).
 *
 * All checks and stack writes happen before any register is changed, so a
 * fault during delivery leaves the interrupted state intact for #DF/retry.
 */
import type { CpuCore } from './state.ts';
import {
  F_IF, F_TF, F_NT, F_RF, F_VM, F_AC, S_CS, S_SS, S_TR, D_PRESENT, D_CODE, D_CE, D_S, D_RW, D_DB,
} from './constants.ts';
import { raiseGP, raiseNP, raiseSS, raiseTS } from './exceptions.ts';
import { readEflags } from './flags.ts';
import { sysRead16, sysRead32, writeSlow } from './memory.ts';
import { push16 } from './stack.ts';
import { getEip } from './fetch.ts';
import {
  readDescriptor, setAccessed, descBase, descLimit, descFlags, setSegCache, loadSegReal, setCpl,
} from './segmentation.ts';
import { setEipRaw } from './tlb.ts';

/** Scratch for the values of an interrupt stack frame, first pushed first. */
const frame = new Int32Array(8);

/**
 * Deliver interrupt `vec`. `code` is the error code (-1: none). `soft` is
 * true for INT n / INT3 / INTO (gate DPL is checked against CPL). `ext` is 1
 * for hardware interrupts and processor exceptions (EXT bit of error codes).
 * EIP must already be the return address.
 */
export function deliverInterrupt(c: CpuCore, vec: number, code: number, soft: boolean, ext: number): void {
  if (c.pe === 0) deliverReal(c, vec);
  else deliverProtected(c, vec, code, soft, ext);
  c.halted = false;
  c.events = 1;
}

function deliverReal(c: CpuCore, vec: number): void {
  const off = vec * 4;
  if (off + 3 > (c.idtLimit >>> 0)) raiseGP(c, 0);
  const ip = sysRead16(c, (c.idtBase + off) | 0);
  const cs = sysRead16(c, (c.idtBase + off + 2) | 0);
  const fl = readEflags(c);
  const eip = getEip(c);
  // Pushes are individually safe: ESP changes only after each write.
  const espSave = c.regs[4];
  try {
    push16(c, fl);
    push16(c, c.segSel[S_CS]);
    push16(c, eip);
  } catch (e) {
    c.regs[4] = espSave;
    throw e;
  }
  c.flags = fl & ~(F_IF | F_TF | F_AC);
  loadSegReal(c, S_CS, cs);
  setEipRaw(c, ip);
}

function deliverProtected(c: CpuCore, vec: number, code: number, soft: boolean, ext: number): void {
  if ((c.flags & F_VM) !== 0) raiseGP(c, ext); // V86 not supported
  const idtOff = vec * 8;
  const gateErr = idtOff + 2 + ext;
  if (idtOff + 7 > (c.idtLimit >>> 0)) raiseGP(c, gateErr);
  const lo = sysRead32(c, (c.idtBase + idtOff) | 0);
  const hi = sysRead32(c, (c.idtBase + idtOff + 4) | 0);
  const type = (hi >>> 8) & 0x1f;
  let gate32: boolean;
  if (type === 0x0e || type === 0x0f) gate32 = true;
  else if (type === 0x06 || type === 0x07) gate32 = false;
  else raiseGP(c, gateErr); // includes task gates (type 5): hardware task switching is not implemented
  const trapGate = (type & 1) !== 0;
  if (soft && ((hi >>> 13) & 3) < c.cpl) raiseGP(c, gateErr);
  if ((hi & 0x8000) === 0) raiseNP(c, gateErr);
  const sel = lo >>> 16;
  const target = gate32 ? ((lo & 0xffff) | (hi & 0xffff0000)) | 0 : lo & 0xffff;
  if ((sel & 0xfffc) === 0) raiseGP(c, ext);
  if (!readDescriptor(c, sel)) raiseGP(c, (sel & 0xfffc) + ext);
  const csLo = c.descLo;
  const csHi = c.descHi;
  const acc = (csHi >>> 8) & 0xff;
  const dpl = (acc >> 5) & 3;
  if ((acc & (D_S | D_CODE)) !== (D_S | D_CODE) || dpl > c.cpl) raiseGP(c, (sel & 0xfffc) + ext);
  if ((acc & D_PRESENT) === 0) raiseNP(c, (sel & 0xfffc) + ext);

  const eflags = readEflags(c);
  const eip = getEip(c);
  const w = gate32 ? 4 : 2;
  let n = 0;

  if ((acc & D_CE) === 0 && dpl < c.cpl) {
    // Inter-privilege: new stack from the TSS (SDM Vol. 3A 6.12.1, 7.2.1).
    const trFl = c.segFlags[S_TR];
    const tss32 = (trFl & 0x8) !== 0;
    const trBase = c.segBase[S_TR];
    const trLimit = c.segLimit[S_TR] >>> 0;
    const trSel = c.segSel[S_TR] & 0xfffc;
    let newSs: number;
    let newEsp: number;
    if (tss32) {
      const o = 4 + dpl * 8;
      if (o + 5 > trLimit) raiseTS(c, trSel + ext);
      newEsp = sysRead32(c, (trBase + o) | 0);
      newSs = sysRead16(c, (trBase + o + 4) | 0);
    } else {
      const o = 2 + dpl * 4;
      if (o + 3 > trLimit) raiseTS(c, trSel + ext);
      newEsp = sysRead16(c, (trBase + o) | 0);
      newSs = sysRead16(c, (trBase + o + 2) | 0);
    }
    if ((newSs & 0xfffc) === 0) raiseTS(c, ext);
    if (!readDescriptor(c, newSs)) raiseTS(c, (newSs & 0xfffc) + ext);
    const ssAcc = (c.descHi >>> 8) & 0xff;
    if ((newSs & 3) !== dpl || ((ssAcc >> 5) & 3) !== dpl || (ssAcc & (D_S | D_CODE | D_RW)) !== (D_S | D_RW)) {
      raiseTS(c, (newSs & 0xfffc) + ext);
    }
    if ((ssAcc & D_PRESENT) === 0) raiseSS(c, (newSs & 0xfffc) + ext);
    const ssLo = c.descLo;
    const ssHi = c.descHi;
    const ssBase = descBase(ssLo, ssHi);
    const ssLimit = descLimit(ssLo, ssHi);
    const ssFlags = descFlags(ssHi);
    frame[n++] = c.segSel[S_SS];
    frame[n++] = c.regs[4];
    frame[n++] = eflags;
    frame[n++] = c.segSel[S_CS];
    frame[n++] = eip;
    if (code >= 0) frame[n++] = code;
    const sp = pushFrame(c, ssBase, ssLimit, ssFlags, newEsp, n, w, false, (newSs & 0xfffc) + ext);
    // Commit.
    readDescriptor(c, newSs);
    setAccessed(c, newSs);
    setSegCache(c, S_SS, newSs, ssBase, ssLimit, descFlags(c.descHi));
    c.regs[4] = (ssFlags & D_DB) !== 0 ? sp : (newEsp & ~0xffff) | (sp & 0xffff);
  } else {
    // Same privilege (conforming target or DPL == CPL).
    frame[n++] = eflags;
    frame[n++] = c.segSel[S_CS];
    frame[n++] = eip;
    if (code >= 0) frame[n++] = code;
    const sp = pushFrame(c, c.segBase[S_SS], c.segLimit[S_SS], c.segFlags[S_SS], c.regs[4], n, w, c.cpl === 3, 0);
    c.regs[4] = c.ss32 ? sp : (c.regs[4] & ~0xffff) | (sp & 0xffff);
  }
  const newCpl = (acc & D_CE) !== 0 ? c.cpl : dpl;
  c.descLo = csLo;
  c.descHi = csHi;
  setAccessed(c, sel);
  setSegCache(c, S_CS, (sel & 0xfffc) | newCpl, descBase(csLo, c.descHi), descLimit(csLo, c.descHi), descFlags(c.descHi));
  let nf = eflags & ~(F_TF | F_NT | F_RF | F_VM);
  if (!trapGate) nf &= ~F_IF;
  c.flags = nf;
  setCpl(c, newCpl);
  setEipRaw(c, gate32 ? target : target & 0xffff);
}

/**
 * Write frame[0..n-1] (frame[0] at the highest address) below `sp` on the
 * stack described by base/limit/flags, checking the limit first. Returns the
 * new stack pointer. Nothing in the CPU state is modified.
 */
function pushFrame(c: CpuCore, base: number, limit: number, flags: number, sp: number, n: number, w: number, user: boolean, ssErr: number): number {
  const big = (flags & D_DB) !== 0;
  const total = n * w;
  const newSp = big ? (sp - total) | 0 : (sp - total) & 0xffff;
  const lim = limit >>> 0;
  const lo = newSp >>> 0;
  const hi = lo + total - 1;
  let ok: boolean;
  if ((flags & (D_CODE | D_CE)) === D_CE) ok = lo > lim && hi <= (big ? 0xffffffff : 0xffff);
  else ok = hi <= lim;
  if (!ok) raiseSS(c, ssErr);
  for (let k = 0; k < n; k++) {
    const off = newSp + (n - 1 - k) * w;
    writeSlow(c, (base + (big ? off : off & 0xffff)) | 0, w, w === 2 ? frame[k] & 0xffff : frame[k], user, false);
  }
  return newSp;
}
