/**
 * Far control transfers: JMP/CALL ptr16:16/32, RETF [imm16] (same and outer
 * privilege), IRET (real mode, protected mode same/outer privilege), per the
 * operation sections of SDM Vol. 2 (JMP, CALL, RET, IRET) and Vol. 3A 5.8.
 *
 * Call gates: same-privilege transfers through a call gate are supported for
 * JMP and CALL; a CALL through a gate to a more privileged level (which
 * needs the TSS stack switch with parameter copying) raises #GP(gate
 * selector), as do TSS and task-gate targets (hardware task switching is not
 * implemented: Linux never uses it). IRET with NT=1 (task return) raises
 * #GP(0) and IRET to virtual-8086 mode raises #GP(0): V86 mode is not
 * supported.
 */
import type { CpuCore } from './state.ts';
import { S_CS, S_SS, D_CODE, D_CE, D_PRESENT, D_S, D_RW, F_NT, F_VM } from './constants.ts';
import { raiseGP, raiseNP, raiseSS } from './exceptions.ts';
import { readDescriptor, setAccessed, loadFromDesc, loadSegReal, setCpl, nullInaccessibleSegs, descLimit } from './segmentation.ts';
import { getEip } from './fetch.ts';
import { setEipRaw } from './tlb.ts';
import { peek16, peek32, poke16, poke32, spAdd } from './stack.ts';
import { writeEflags, iretMask, iretRealMask } from './eflags.ts';

/** Check a code-segment descriptor (already in descLo/descHi) as a far JMP/CALL target. */
function checkCodeTarget(c: CpuCore, sel: number): void {
  const acc = (c.descHi >>> 8) & 0xff;
  const dpl = (acc >> 5) & 3;
  if ((acc & D_CE) !== 0) {
    if (dpl > c.cpl) raiseGP(c, sel & 0xfffc);
  } else if ((sel & 3) > c.cpl || dpl !== c.cpl) {
    raiseGP(c, sel & 0xfffc);
  }
  if ((acc & D_PRESENT) === 0) raiseNP(c, sel & 0xfffc);
}

/**
 * Resolve a protected-mode far JMP/CALL target: returns the offset and leaves
 * the target code descriptor in descLo/descHi and its selector in `farSel`.
 */
let farSel = 0;
function resolveFarTarget(c: CpuCore, sel: number, off: number): number {
  if ((sel & 0xfffc) === 0) raiseGP(c, 0);
  if (!readDescriptor(c, sel)) raiseGP(c, sel & 0xfffc);
  const acc = (c.descHi >>> 8) & 0xff;
  if ((acc & D_S) !== 0) {
    if ((acc & D_CODE) === 0) raiseGP(c, sel & 0xfffc);
    checkCodeTarget(c, sel);
    farSel = sel;
    return off;
  }
  const type = acc & 0xf;
  if (type !== 0x4 && type !== 0xc) raiseGP(c, sel & 0xfffc); // TSS / task gate: not implemented
  // Call gate (SDM Vol. 3A 5.8.3).
  const gdpl = (acc >> 5) & 3;
  if (gdpl < c.cpl || gdpl < (sel & 3)) raiseGP(c, sel & 0xfffc);
  if ((acc & D_PRESENT) === 0) raiseNP(c, sel & 0xfffc);
  const lo = c.descLo;
  const hi = c.descHi;
  const tsel = lo >>> 16;
  const toff = type === 0xc ? ((lo & 0xffff) | (hi & 0xffff0000)) | 0 : lo & 0xffff;
  if ((tsel & 0xfffc) === 0) raiseGP(c, 0);
  if (!readDescriptor(c, tsel)) raiseGP(c, tsel & 0xfffc);
  const tacc = (c.descHi >>> 8) & 0xff;
  if ((tacc & (D_S | D_CODE)) !== (D_S | D_CODE)) raiseGP(c, tsel & 0xfffc);
  const tdpl = (tacc >> 5) & 3;
  if (tdpl > c.cpl) raiseGP(c, tsel & 0xfffc);
  if ((tacc & D_CE) === 0 && tdpl !== c.cpl) raiseGP(c, sel & 0xfffc); // more privileged: unsupported
  if ((tacc & D_PRESENT) === 0) raiseNP(c, tsel & 0xfffc);
  farSel = tsel;
  return toff;
}

function enterCode(c: CpuCore, sel: number, off: number): void {
  if ((off >>> 0) > (descLimit(c.descLo, c.descHi) >>> 0)) raiseGP(c, 0);
  setAccessed(c, sel);
  loadFromDesc(c, S_CS, (sel & 0xfffc) | c.cpl);
  setEipRaw(c, off);
}

export function farJmp(c: CpuCore, sel: number, off: number): void {
  if (!c.o32) off &= 0xffff;
  if (c.pe === 0 || (c.flags & F_VM) !== 0) {
    loadSegReal(c, S_CS, sel);
    setEipRaw(c, off);
    return;
  }
  const target = resolveFarTarget(c, sel, off);
  enterCode(c, farSel, target);
}

export function farCall(c: CpuCore, sel: number, off: number): void {
  const o32 = c.o32;
  if (!o32) off &= 0xffff;
  const retEip = getEip(c);
  const cs = c.segSel[S_CS];
  if (c.pe === 0 || (c.flags & F_VM) !== 0) {
    pushPair(c, o32, cs, retEip);
    loadSegReal(c, S_CS, sel);
    setEipRaw(c, off);
    return;
  }
  const target = resolveFarTarget(c, sel, off);
  const lo = c.descLo;
  const hi = c.descHi;
  pushPair(c, o32, cs, retEip);
  c.descLo = lo;
  c.descHi = hi;
  try {
    enterCode(c, farSel, target);
  } catch (e) {
    c.regs[4] = spAdd(c, o32 ? 8 : 4); // undo the pushes: the CALL faults as a whole
    throw e;
  }
}

/** Push CS then EIP (both checked before ESP moves). */
function pushPair(c: CpuCore, o32: boolean, cs: number, eip: number): void {
  if (o32) {
    poke32(c, -4, cs & 0xffff);
    poke32(c, -8, eip);
    c.regs[4] = spAdd(c, -8);
  } else {
    poke16(c, -2, cs);
    poke16(c, -4, eip);
    c.regs[4] = spAdd(c, -4);
  }
}

/** RETF [imm16]. */
export function farRet(c: CpuCore, imm: number): void {
  const o32 = c.o32;
  const w = o32 ? 4 : 2;
  const off = o32 ? peek32(c, 0) : peek16(c, 0);
  const sel = (o32 ? peek32(c, w) : peek16(c, w)) & 0xffff;
  if (c.pe === 0 || (c.flags & F_VM) !== 0) {
    loadSegReal(c, S_CS, sel);
    c.regs[4] = spAdd(c, 2 * w + imm);
    setEipRaw(c, off);
    return;
  }
  const rpl = sel & 3;
  checkReturnCs(c, sel);
  if (rpl === c.cpl) {
    const csLo = c.descLo;
    const csHi = c.descHi;
    if ((off >>> 0) > (descLimit(csLo, csHi) >>> 0)) raiseGP(c, 0);
    setAccessed(c, sel);
    loadFromDesc(c, S_CS, sel);
    c.regs[4] = spAdd(c, 2 * w + imm);
    setEipRaw(c, off);
    return;
  }
  // Return to an outer privilege level.
  const csLo = c.descLo;
  const csHi = c.descHi;
  const newEsp = o32 ? peek32(c, 2 * w + imm) : peek16(c, 2 * w + imm);
  const newSs = (o32 ? peek32(c, 3 * w + imm) : peek16(c, 3 * w + imm)) & 0xffff;
  returnToOuter(c, sel, csLo, csHi, off, newSs, newEsp, imm, o32);
}

/** The CS checks shared by RETF and IRET (leaves the descriptor in descLo/descHi). */
function checkReturnCs(c: CpuCore, sel: number): void {
  if ((sel & 0xfffc) === 0) raiseGP(c, 0);
  if (!readDescriptor(c, sel)) raiseGP(c, sel & 0xfffc);
  const acc = (c.descHi >>> 8) & 0xff;
  const rpl = sel & 3;
  const dpl = (acc >> 5) & 3;
  if ((acc & (D_S | D_CODE)) !== (D_S | D_CODE) || rpl < c.cpl) raiseGP(c, sel & 0xfffc);
  if ((acc & D_CE) !== 0 ? dpl > rpl : dpl !== rpl) raiseGP(c, sel & 0xfffc);
  if ((acc & D_PRESENT) === 0) raiseNP(c, sel & 0xfffc);
}

function returnToOuter(c: CpuCore, sel: number, csLo: number, csHi: number, off: number,
  newSs: number, newEsp: number, imm: number, o32: boolean): void {
  const rpl = sel & 3;
  if ((newSs & 0xfffc) === 0) raiseGP(c, 0);
  if (!readDescriptor(c, newSs)) raiseGP(c, newSs & 0xfffc);
  const sacc = (c.descHi >>> 8) & 0xff;
  if ((newSs & 3) !== rpl || (sacc & (D_S | D_CODE | D_RW)) !== (D_S | D_RW) || ((sacc >> 5) & 3) !== rpl) {
    raiseGP(c, newSs & 0xfffc);
  }
  if ((sacc & D_PRESENT) === 0) raiseSS(c, newSs & 0xfffc);
  if ((off >>> 0) > (descLimit(csLo, csHi) >>> 0)) raiseGP(c, 0);
  // Commit: SS first (its descriptor is current), then CS.
  setAccessed(c, newSs);
  loadFromDesc(c, S_SS, newSs);
  c.regs[4] = c.ss32 ? (newEsp + imm) | 0 : (newEsp + imm) & 0xffff;
  c.descLo = csLo;
  c.descHi = csHi;
  setAccessed(c, sel);
  loadFromDesc(c, S_CS, sel);
  setCpl(c, rpl);
  nullInaccessibleSegs(c);
  setEipRaw(c, o32 ? off : off & 0xffff);
}

export function iret(c: CpuCore): void {
  const o32 = c.o32;
  const w = o32 ? 4 : 2;
  if (c.pe === 0) {
    const off = o32 ? peek32(c, 0) : peek16(c, 0);
    const sel = (o32 ? peek32(c, w) : peek16(c, w)) & 0xffff;
    const fl = o32 ? peek32(c, 2 * w) : peek16(c, 2 * w);
    loadSegReal(c, S_CS, sel);
    c.regs[4] = spAdd(c, 3 * w);
    writeEflags(c, fl, iretRealMask(o32));
    setEipRaw(c, off);
    return;
  }
  if ((c.flags & F_VM) !== 0) raiseGP(c, 0); // V86 not supported
  if ((c.flags & F_NT) !== 0) raiseGP(c, 0); // task return: hardware task switching not implemented
  const off = o32 ? peek32(c, 0) : peek16(c, 0);
  const sel = (o32 ? peek32(c, w) : peek16(c, w)) & 0xffff;
  const fl = o32 ? peek32(c, 2 * w) : peek16(c, 2 * w);
  if (o32 && (fl & F_VM) !== 0 && c.cpl === 0) raiseGP(c, 0); // return to V86: not supported
  checkReturnCs(c, sel);
  const rpl = sel & 3;
  const mask = iretMask(c, o32);
  const csLo = c.descLo;
  const csHi = c.descHi;
  if (rpl === c.cpl) {
    if ((off >>> 0) > (descLimit(csLo, csHi) >>> 0)) raiseGP(c, 0);
    setAccessed(c, sel);
    loadFromDesc(c, S_CS, sel);
    c.regs[4] = spAdd(c, 3 * w);
    writeEflags(c, fl, mask);
    setEipRaw(c, o32 ? off : off & 0xffff);
    return;
  }
  const newEsp = o32 ? peek32(c, 3 * w) : peek16(c, 3 * w);
  const newSs = (o32 ? peek32(c, 4 * w) : peek16(c, 4 * w)) & 0xffff;
  returnToOuter(c, sel, csLo, csHi, off, newSs, newEsp, 0, o32);
  writeEflags(c, fl, mask);
}
