/**
 * Decimal-adjust instructions DAA DAS AAA AAS AAM AAD, following the
 * pseudo-code of their SDM Vol. 2 entries. Flags the SDM calls undefined are
 * computed the way the pseudo-code's final AL suggests (SF/ZF/PF from AL).
 */
import type { CpuCore } from './state.ts';
import { F_AF, F_CF, F_OF, F_PF, F_SF, F_ZF } from './constants.ts';
import { PARITY, getAF, getCF, setArithFlags } from './flags.ts';
import { raiseDE } from './exceptions.ts';

function szp(al: number): number {
  return (al === 0 ? F_ZF : 0) | (al & 0x80 ? F_SF : 0) | (PARITY[al] ? F_PF : 0);
}

export function daa(c: CpuCore): void {
  const r = c.regs;
  const oldAl = r[0] & 0xff;
  const oldCf = getCF(c);
  let al = oldAl;
  let af = 0;
  if ((al & 0xf) > 9 || getAF(c) !== 0) {
    // The SDM also sets CF from the carry of AL + 6 here, but the second step always overrides CF.
    al = (al + 6) & 0xff;
    af = 1;
  }
  let cf = 0;
  if (oldAl > 0x99 || oldCf !== 0) {
    al = (al + 0x60) & 0xff;
    cf = 1;
  }
  r[0] = (r[0] & ~0xff) | al;
  // OF undefined: P6 reports the signed overflow of the adjustment.
  const of = (~oldAl & al & 0x80) !== 0 ? F_OF : 0;
  setArithFlags(c, szp(al) | (cf ? F_CF : 0) | (af ? F_AF : 0) | of);
}

export function das(c: CpuCore): void {
  const r = c.regs;
  const oldAl = r[0] & 0xff;
  const oldCf = getCF(c);
  let al = oldAl;
  let cf = 0;
  let af = 0;
  if ((al & 0xf) > 9 || getAF(c) !== 0) {
    al = (al - 6) & 0xff;
    cf = oldCf | (oldAl < 6 ? 1 : 0);
    af = 1;
  }
  if (oldAl > 0x99 || oldCf !== 0) {
    al = (al - 0x60) & 0xff;
    cf = 1;
  }
  r[0] = (r[0] & ~0xff) | al;
  const of = (oldAl & ~al & 0x80) !== 0 ? F_OF : 0;
  setArithFlags(c, szp(al) | (cf ? F_CF : 0) | (af ? F_AF : 0) | of);
}

export function aaa(c: CpuCore): void {
  const r = c.regs;
  let ax = r[0] & 0xffff;
  let f = 0;
  if ((ax & 0xf) > 9 || getAF(c) !== 0) {
    ax = (ax + 0x106) & 0xffff;
    f = F_AF | F_CF;
  }
  ax &= 0xff0f;
  r[0] = (r[0] & ~0xffff) | ax;
  setArithFlags(c, f | szp(ax & 0xff));
}

export function aas(c: CpuCore): void {
  const r = c.regs;
  let ax = r[0] & 0xffff;
  let f = 0;
  if ((ax & 0xf) > 9 || getAF(c) !== 0) {
    ax = (ax - 6) & 0xffff;
    ax = (ax - 0x100) & 0xffff;
    f = F_AF | F_CF;
  }
  ax &= 0xff0f;
  r[0] = (r[0] & ~0xffff) | ax;
  setArithFlags(c, f | szp(ax & 0xff));
}

export function aam(c: CpuCore, imm: number): void {
  if (imm === 0) raiseDE(c);
  const r = c.regs;
  const al = r[0] & 0xff;
  const ah = Math.floor(al / imm);
  const nal = al % imm;
  r[0] = (r[0] & ~0xffff) | (ah << 8) | nal;
  setArithFlags(c, szp(nal));
}

export function aad(c: CpuCore, imm: number): void {
  const r = c.regs;
  const al = r[0] & 0xff;
  const ah = (r[0] >> 8) & 0xff;
  const nal = (al + ah * imm) & 0xff;
  r[0] = (r[0] & ~0xffff) | nal;
  setArithFlags(c, szp(nal));
}
