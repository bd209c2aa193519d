/**
 * Bit instructions: BT/BTS/BTR/BTC (register and immediate bit offsets;
 * the memory form with a register offset addresses the bit string beyond
 * the operand, SDM Vol. 2 BT "bit base / bit offset"), BSF/BSR, BSWAP,
 * CMPXCHG, CMPXCHG8B and XADD.
 */
import type { CpuCore } from './state.ts';
import { F_CF, F_ZF } from './constants.ts';
import { rd16, rd32, wr16, wr32, rmw16, rmw32, probeWrite } from './access.ts';
import { setSomeFlags, SZ_MASK } from './flags.ts';
import { alu, ALU_ADD, ALU_CMP } from './alu.ts';
import { getReg8, setReg8, rmwE8, setE8 } from './operands.ts';
import { raiseUD } from './exceptions.ts';

/** BT family: kind 0 BT, 1 BTS, 2 BTR, 3 BTC. `regOffset`: offset from a register (may leave the operand). */
export function bitTest(c: CpuCore, kind: number, modrm: number, offset: number, regOffset: boolean): void {
  const o32 = c.o32;
  const bits = o32 ? 32 : 16;
  const r = c.regs;
  let bit: number;
  let v: number;
  if (modrm >= 0xc0) {
    const d = modrm & 7;
    bit = offset & (bits - 1);
    v = o32 ? r[d] : r[d] & 0xffff;
    const cf = (v >>> bit) & 1;
    setSomeFlags(c, F_CF, cf);
    if (kind === 0) return;
    const nv = kind === 1 ? v | (1 << bit) : kind === 2 ? v & ~(1 << bit) : v ^ (1 << bit);
    if (o32) r[d] = nv;
    else r[d] = (r[d] & ~0xffff) | (nv & 0xffff);
    return;
  }
  let ea = c.ea;
  if (regOffset) {
    const off = o32 ? offset | 0 : (offset << 16) >> 16;
    const disp = o32 ? (off >> 5) * 4 : (off >> 4) * 2;
    ea = c.a32 ? (ea + disp) | 0 : (ea + disp) & 0xffff;
    bit = off & (bits - 1);
  } else {
    bit = offset & (bits - 1);
  }
  const seg = c.eaSeg;
  if (kind === 0) {
    v = o32 ? rd32(c, seg, ea) : rd16(c, seg, ea);
    setSomeFlags(c, F_CF, (v >>> bit) & 1);
    return;
  }
  v = o32 ? rmw32(c, seg, ea) : rmw16(c, seg, ea);
  const nv = kind === 1 ? v | (1 << bit) : kind === 2 ? v & ~(1 << bit) : v ^ (1 << bit);
  if (o32) wr32(c, seg, ea, nv);
  else wr16(c, seg, ea, nv & 0xffff);
  setSomeFlags(c, F_CF, (v >>> bit) & 1);
}

/** BSF (reverse = false) / BSR: ZF=1 and destination unchanged for a zero source. */
export function bitScan(c: CpuCore, dst: number, src: number, reverse: boolean): void {
  src = c.o32 ? src : src & 0xffff;
  if (src === 0) {
    setSomeFlags(c, F_ZF, F_ZF);
    return;
  }
  const idx = reverse ? 31 - Math.clz32(src) : 31 - Math.clz32(src & -src);
  setSomeFlags(c, F_ZF, 0);
  if (c.o32) c.regs[dst] = idx;
  else c.regs[dst] = (c.regs[dst] & ~0xffff) | idx;
}

export function bswap(v: number): number {
  return ((v << 24) | ((v & 0xff00) << 8) | ((v >>> 8) & 0xff00) | (v >>> 24)) | 0;
}

/** CMPXCHG r/m, r (sz 0 = byte form). */
export function cmpxchg(c: CpuCore, modrm: number, sz: number): void {
  const r = c.regs;
  const g = (modrm >> 3) & 7;
  if (sz === 0) {
    const dest = rmwE8(c, modrm);
    const acc = r[0] & 0xff;
    alu(c, ALU_CMP, acc, dest, 0);
    if (acc === dest) setE8(c, modrm, getReg8(c, g));
    else {
      if (modrm < 0xc0) setE8(c, modrm, dest);
      setReg8(c, 0, dest);
    }
    return;
  }
  const m = SZ_MASK[sz];
  let dest: number;
  if (modrm >= 0xc0) dest = r[modrm & 7] & m;
  else dest = sz === 2 ? rmw32(c, c.eaSeg, c.ea) : rmw16(c, c.eaSeg, c.ea);
  const acc = r[0] & m;
  alu(c, ALU_CMP, acc, dest, sz);
  const eq = acc === dest;
  const nv = eq ? r[g] & m : dest;
  if (modrm >= 0xc0) {
    if (eq) {
      const d = modrm & 7;
      r[d] = sz === 2 ? nv : (r[d] & ~0xffff) | nv;
    }
  } else if (sz === 2) {
    wr32(c, c.eaSeg, c.ea, nv);
  } else {
    wr16(c, c.eaSeg, c.ea, nv);
  }
  if (!eq) r[0] = sz === 2 ? dest : (r[0] & ~0xffff) | dest;
}

/** CMPXCHG8B m64 (0F C7 /1). */
export function cmpxchg8b(c: CpuCore, modrm: number): void {
  if (modrm >= 0xc0) raiseUD(c);
  const r = c.regs;
  const seg = c.eaSeg;
  const ea = c.ea;
  const ea4 = c.a32 ? (ea + 4) | 0 : (ea + 4) & 0xffff;
  probeWrite(c, seg, ea, 8);
  const lo = rd32(c, seg, ea);
  const hi = rd32(c, seg, ea4);
  if (lo === r[0] && hi === r[2]) {
    wr32(c, seg, ea, r[3]);
    wr32(c, seg, ea4, r[1]);
    setSomeFlags(c, F_ZF, F_ZF);
  } else {
    wr32(c, seg, ea, lo);
    wr32(c, seg, ea4, hi);
    r[0] = lo;
    r[2] = hi;
    setSomeFlags(c, F_ZF, 0);
  }
}

/** XADD r/m, r. */
export function xadd(c: CpuCore, modrm: number, sz: number): void {
  const r = c.regs;
  const g = (modrm >> 3) & 7;
  if (sz === 0) {
    const dest = rmwE8(c, modrm);
    const src = getReg8(c, g);
    const sum = alu(c, ALU_ADD, dest, src, 0);
    setReg8(c, g, dest);
    setE8(c, modrm, sum);
    return;
  }
  let dest: number;
  if (modrm >= 0xc0) dest = sz === 2 ? r[modrm & 7] : r[modrm & 7] & 0xffff;
  else dest = sz === 2 ? rmw32(c, c.eaSeg, c.ea) : rmw16(c, c.eaSeg, c.ea);
  const sum = alu(c, ALU_ADD, dest, r[g], sz);
  if (sz === 2) r[g] = dest;
  else r[g] = (r[g] & ~0xffff) | dest;
  if (modrm >= 0xc0) {
    const d = modrm & 7;
    r[d] = sz === 2 ? sum : (r[d] & ~0xffff) | sum;
  } else if (sz === 2) {
    wr32(c, c.eaSeg, c.ea, sum);
  } else {
    wr16(c, c.eaSeg, c.ea, sum);
  }
}
