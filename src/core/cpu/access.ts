/**
 * Segmented data accessors: seg:offset → linear with the segment checks of
 * SDM Vol. 3A 5.3 (limit, expand-down) and 5.4/5.5 (type: read-only data,
 * execute-only code, unusable null selector). A segment whose cache is flat
 * (usable, expand-up, limit 4 GiB, right type) has segOkR/segOkW = 1 and
 * skips the check entirely. Violations raise #SS(0) for SS, #GP(0) otherwise.
 */
import type { CpuCore } from './state.ts';
import { S_SS, D_PRESENT, D_CODE, D_RW, D_CE, D_DB } from './constants.ts';
import { raiseGP, raiseSS } from './exceptions.ts';
import { readLin8, readLin16, readLin32, writeLin8, writeLin16, writeLin32, probeWriteLin, readSlow, writeSlow } from './memory.ts';
import { TLB_MASK } from './state.ts';

/** Full segment check for an access of `size` bytes at `off`. */
export function segCheck(c: CpuCore, seg: number, off: number, size: number, write: boolean): void {
  const fl = c.segFlags[seg];
  if (c.pe !== 0 && (c.flags & 0x20000) === 0) {
    if ((fl & D_PRESENT) === 0) segFault(c, seg);
    if (write) {
      if ((fl & D_CODE) !== 0 || (fl & D_RW) === 0) segFault(c, seg);
    } else if ((fl & D_CODE) !== 0 && (fl & D_RW) === 0) {
      segFault(c, seg);
    }
  }
  const lim = c.segLimit[seg] >>> 0;
  const o = off >>> 0;
  if ((fl & (D_CODE | D_CE)) === D_CE) {
    // Expand-down data segment: valid offsets are limit+1 .. 0xFFFF or 0xFFFFFFFF.
    const upper = (fl & D_DB) !== 0 ? 0xffffffff : 0xffff;
    if (o <= lim || o + size - 1 > upper) segFault(c, seg);
  } else if (o + size - 1 > lim) {
    segFault(c, seg);
  }
}

function segFault(c: CpuCore, seg: number): never {
  if (seg === S_SS) return raiseSS(c, 0);
  return raiseGP(c, 0);
}

export function rd8(c: CpuCore, seg: number, off: number): number {
  if (c.segOkR[seg] === 0) segCheck(c, seg, off, 1, false);
  return readLin8(c, (c.segBase[seg] + off) | 0);
}

export function rd16(c: CpuCore, seg: number, off: number): number {
  if (c.segOkR[seg] === 0) segCheck(c, seg, off, 2, false);
  return readLin16(c, (c.segBase[seg] + off) | 0);
}

export function rd32(c: CpuCore, seg: number, off: number): number {
  if (c.segOkR[seg] === 0) segCheck(c, seg, off, 4, false);
  return readLin32(c, (c.segBase[seg] + off) | 0);
}

export function wr8(c: CpuCore, seg: number, off: number, v: number): void {
  if (c.segOkW[seg] === 0) segCheck(c, seg, off, 1, true);
  writeLin8(c, (c.segBase[seg] + off) | 0, v);
}

export function wr16(c: CpuCore, seg: number, off: number, v: number): void {
  if (c.segOkW[seg] === 0) segCheck(c, seg, off, 2, true);
  writeLin16(c, (c.segBase[seg] + off) | 0, v);
}

export function wr32(c: CpuCore, seg: number, off: number, v: number): void {
  if (c.segOkW[seg] === 0) segCheck(c, seg, off, 4, true);
  writeLin32(c, (c.segBase[seg] + off) | 0, v);
}

/**
 * Read for a read-modify-write: checks write permission (segment and page)
 * first, so the later write of the result cannot fault after flags or
 * registers were updated.
 */
export function rmw8(c: CpuCore, seg: number, off: number): number {
  if (c.segOkW[seg] === 0) segCheck(c, seg, off, 1, true);
  const lin = (c.segBase[seg] + off) | 0;
  const vp = lin >>> 12;
  const i = vp & TLB_MASK;
  if (c.tlbWr[i] === (vp | c.tlbKey)) return c.mem8[(lin + c.tlbDelta[i]) | 0];
  probeWriteLin(c, lin, 1, c.cpl === 3);
  return readSlow(c, lin, 1, c.cpl === 3, true);
}

export function rmw16(c: CpuCore, seg: number, off: number): number {
  if (c.segOkW[seg] === 0) segCheck(c, seg, off, 2, true);
  const lin = (c.segBase[seg] + off) | 0;
  const vp = lin >>> 12;
  const i = vp & TLB_MASK;
  if (c.tlbWr[i] === (vp | c.tlbKey) && (lin & 0xfff) <= 0xffe) return c.dv.getUint16((lin + c.tlbDelta[i]) | 0, true);
  probeWriteLin(c, lin, 2, c.cpl === 3);
  return readSlow(c, lin, 2, c.cpl === 3, true);
}

export function rmw32(c: CpuCore, seg: number, off: number): number {
  if (c.segOkW[seg] === 0) segCheck(c, seg, off, 4, true);
  const lin = (c.segBase[seg] + off) | 0;
  const vp = lin >>> 12;
  const i = vp & TLB_MASK;
  if (c.tlbWr[i] === (vp | c.tlbKey) && (lin & 0xfff) <= 0xffc) return c.dv.getInt32((lin + c.tlbDelta[i]) | 0, true);
  probeWriteLin(c, lin, 4, c.cpl === 3);
  return readSlow(c, lin, 4, c.cpl === 3, true);
}

/** Check that `size` bytes at seg:off can be written (segment and page), without writing. */
export function probeWrite(c: CpuCore, seg: number, off: number, size: number): void {
  segCheck(c, seg, off, size, true);
  probeWriteLin(c, (c.segBase[seg] + off) | 0, size, c.cpl === 3);
}

/** Check that `size` bytes at seg:off can be read. */
export function probeRead(c: CpuCore, seg: number, off: number, size: number): void {
  segCheck(c, seg, off, size, false);
  const lin = (c.segBase[seg] + off) | 0;
  readSlow(c, lin, 1, c.cpl === 3, false);
  if (size > 1) readSlow(c, (lin + size - 1) | 0, 1, c.cpl === 3, false);
}

/** Generic sized access used by string ops and rare instructions. */
export function rdSz(c: CpuCore, seg: number, off: number, sz: number): number {
  return sz === 0 ? rd8(c, seg, off) : sz === 1 ? rd16(c, seg, off) : rd32(c, seg, off);
}

export function wrSz(c: CpuCore, seg: number, off: number, sz: number, v: number): void {
  if (sz === 0) wr8(c, seg, off, v);
  else if (sz === 1) wr16(c, seg, off, v);
  else wr32(c, seg, off, v);
}

/** Write without re-checking (after probeWrite), used for multi-part stores. */
export function wrLinAny(c: CpuCore, lin: number, size: number, v: number): void {
  writeSlow(c, lin, size, v, c.cpl === 3, false);
}
