/**
 * Port I/O protection (SDM Vol. 1 19.5.1-19.5.2): in protected mode with
 * CPL > IOPL, every port touched must be allowed by the I/O permission
 * bitmap of the current 32-bit TSS; otherwise #GP(0).
 */
import type { CpuCore } from './state.ts';
import { S_TR } from './constants.ts';
import { raiseGP } from './exceptions.ts';
import { sysRead16 } from './memory.ts';

export function checkIoPermission(c: CpuCore, port: number, size: number): void {
  if (c.pe === 0) return;
  const iopl = (c.flags >> 12) & 3;
  if (c.cpl <= iopl && (c.flags & 0x20000) === 0) return;
  const trFl = c.segFlags[S_TR];
  // Only a present 32-bit TSS (type 9/B) has a bitmap.
  if ((trFl & 0x80) === 0 || (trFl & 0xd) !== 0x9) raiseGP(c, 0);
  const limit = c.segLimit[S_TR] >>> 0;
  if (limit < 103) raiseGP(c, 0);
  const base = c.segBase[S_TR];
  const mapBase = sysRead16(c, (base + 102) | 0);
  const off = mapBase + (port >>> 3);
  if (off + 1 > limit) raiseGP(c, 0);
  const bits = sysRead16(c, (base + off) | 0);
  const mask = ((1 << size) - 1) << (port & 7);
  if ((bits & mask) !== 0) raiseGP(c, 0);
}

export function portIn(c: CpuCore, port: number, size: 1 | 2 | 4): number {
  checkIoPermission(c, port, size);
  const v = c.host.ioRead(port, size);
  return size === 4 ? v | 0 : v & (size === 1 ? 0xff : 0xffff);
}

export function portOut(c: CpuCore, port: number, size: 1 | 2 | 4, v: number): void {
  checkIoPermission(c, port, size);
  c.host.ioWrite(port, size, size === 4 ? v >>> 0 : v & (size === 1 ? 0xff : 0xffff));
}
