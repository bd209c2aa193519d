/**
 * Linear-address memory accessors. The fast path is one TLB tag compare and a
 * typed-array access; misses, page-crossing accesses, uncacheable frames and
 * alignment checking go through the slow path, which translates every page
 * an access touches before touching any of them, so that a #PF on the second
 * page leaves memory unmodified (SDM Vol. 3A 4.7: faults are restartable).
 *
 * `user` selects the privilege of the access: CPL 3 data accesses are user
 * accesses; descriptor-table and TSS accesses are supervisor accesses even at
 * CPL 3 (SDM Vol. 3A 4.6 "implicit supervisor-mode accesses").
 */
import type { CpuCore } from './state.ts';
import { TLB_MASK } from './state.ts';
import { translate } from './paging.ts';
import { raiseAC } from './exceptions.ts';

// ---------- reads ----------

export function readLin8(c: CpuCore, lin: number): number {
  const vp = lin >>> 12;
  const i = vp & TLB_MASK;
  if (c.tlbRd[i] === (vp | c.tlbKey)) return c.mem8[(lin + c.tlbDelta[i]) | 0];
  return readSlow(c, lin, 1, c.cpl === 3, true);
}

export function readLin16(c: CpuCore, lin: number): number {
  const vp = lin >>> 12;
  const i = vp & TLB_MASK;
  if (c.tlbRd[i] === (vp | c.tlbKey) && (lin & 0xfff) <= 0xffe) return c.dv.getUint16((lin + c.tlbDelta[i]) | 0, true);
  return readSlow(c, lin, 2, c.cpl === 3, true);
}

export function readLin32(c: CpuCore, lin: number): number {
  const vp = lin >>> 12;
  const i = vp & TLB_MASK;
  if (c.tlbRd[i] === (vp | c.tlbKey) && (lin & 0xfff) <= 0xffc) return c.dv.getInt32((lin + c.tlbDelta[i]) | 0, true);
  return readSlow(c, lin, 4, c.cpl === 3, true);
}

/** Read `size` bytes at `lin` with explicit privilege; `data` enables #AC checking. */
export function readSlow(c: CpuCore, lin: number, size: number, user: boolean, data: boolean): number {
  if (data && c.acActive && (lin & (size - 1)) !== 0) raiseAC(c);
  if ((lin & 0xfff) + size <= 0x1000) {
    const i = translate(c, lin, false, user);
    if (i >= 0) {
      const h = (lin + c.tlbDelta[i]) | 0;
      return size === 1 ? c.mem8[h] : size === 2 ? c.dv.getUint16(h, true) : c.dv.getInt32(h, true);
    }
    const v = c.host.physRead(c.physAddr, size as 1 | 2 | 4);
    return size === 4 ? v | 0 : v;
  }
  // Crossing a page: translate both pages first (fault order: first page first).
  translate(c, lin, false, user);
  translate(c, (lin + size - 1) & ~0xfff, false, user);
  let v = 0;
  for (let k = 0; k < size; k++) v |= readByteAny(c, (lin + k) | 0, user) << (k * 8);
  return size === 4 ? v | 0 : v >>> 0;
}

function readByteAny(c: CpuCore, lin: number, user: boolean): number {
  const i = translate(c, lin, false, user);
  if (i >= 0) return c.mem8[(lin + c.tlbDelta[i]) | 0];
  return c.host.physRead(c.physAddr, 1) & 0xff;
}

// ---------- writes ----------

export function writeLin8(c: CpuCore, lin: number, v: number): void {
  const vp = lin >>> 12;
  const i = vp & TLB_MASK;
  if (c.tlbWr[i] === (vp | c.tlbKey)) { c.mem8[(lin + c.tlbDelta[i]) | 0] = v; return; }
  writeSlow(c, lin, 1, v, c.cpl === 3, true);
}

export function writeLin16(c: CpuCore, lin: number, v: number): void {
  const vp = lin >>> 12;
  const i = vp & TLB_MASK;
  if (c.tlbWr[i] === (vp | c.tlbKey) && (lin & 0xfff) <= 0xffe) { c.dv.setUint16((lin + c.tlbDelta[i]) | 0, v, true); return; }
  writeSlow(c, lin, 2, v, c.cpl === 3, true);
}

export function writeLin32(c: CpuCore, lin: number, v: number): void {
  const vp = lin >>> 12;
  const i = vp & TLB_MASK;
  if (c.tlbWr[i] === (vp | c.tlbKey) && (lin & 0xfff) <= 0xffc) { c.dv.setInt32((lin + c.tlbDelta[i]) | 0, v, true); return; }
  writeSlow(c, lin, 4, v, c.cpl === 3, true);
}

export function writeSlow(c: CpuCore, lin: number, size: number, v: number, user: boolean, data: boolean): void {
  if (data && c.acActive && (lin & (size - 1)) !== 0) raiseAC(c);
  if ((lin & 0xfff) + size <= 0x1000) {
    const i = translate(c, lin, true, user);
    if (i >= 0) {
      const h = (lin + c.tlbDelta[i]) | 0;
      if (size === 1) c.mem8[h] = v;
      else if (size === 2) c.dv.setUint16(h, v, true);
      else c.dv.setInt32(h, v, true);
      return;
    }
    c.host.physWrite(c.physAddr, size as 1 | 2 | 4, size === 4 ? v >>> 0 : v & (size === 1 ? 0xff : 0xffff));
    return;
  }
  translate(c, lin, true, user);
  translate(c, (lin + size - 1) & ~0xfff, true, user);
  for (let k = 0; k < size; k++) writeByteAny(c, (lin + k) | 0, (v >>> (k * 8)) & 0xff, user);
}

function writeByteAny(c: CpuCore, lin: number, v: number, user: boolean): void {
  const i = translate(c, lin, true, user);
  if (i >= 0) { c.mem8[(lin + c.tlbDelta[i]) | 0] = v; return; }
  c.host.physWrite(c.physAddr, 1, v);
}

/**
 * Make sure `size` bytes at `lin` are writable (translating, setting D bits):
 * used before read-modify-write and multi-part stores so the store cannot
 * fault after state was changed.
 */
export function probeWriteLin(c: CpuCore, lin: number, size: number, user: boolean): void {
  if (c.acActive && user && (lin & (size - 1)) !== 0 && size <= 8) raiseAC(c);
  translate(c, lin, true, user);
  if ((lin & 0xfff) + size > 0x1000) translate(c, (lin + size - 1) & ~0xfff, true, user);
}

export function probeReadLin(c: CpuCore, lin: number, size: number, user: boolean): void {
  translate(c, lin, false, user);
  if ((lin & 0xfff) + size > 0x1000) translate(c, (lin + size - 1) & ~0xfff, false, user);
}

// ---------- supervisor (implicit) accesses: descriptor tables, TSS, IDT ----------

export function sysRead8(c: CpuCore, lin: number): number { return readSlow(c, lin, 1, false, false); }
export function sysRead16(c: CpuCore, lin: number): number { return readSlow(c, lin, 2, false, false); }
export function sysRead32(c: CpuCore, lin: number): number { return readSlow(c, lin, 4, false, false); }
export function sysWrite32(c: CpuCore, lin: number, v: number): void { writeSlow(c, lin, 4, v, false, false); }
export function sysWrite8(c: CpuCore, lin: number, v: number): void { writeSlow(c, lin, 1, v, false, false); }
