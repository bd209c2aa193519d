/**
 * Side-effect-free linear memory access for debuggers, tests and error
 * reports: translation without #PF and without A/D updates; -1 for
 * unmapped bytes (reads) and silently ignored unmapped/read-only writes.
 */
import type { CpuCore } from './state.ts';
import { probeTranslate } from './paging.ts';
import { refreshViews } from './tlb.ts';

export function debugRead8(c: CpuCore, lin: number): number {
  const p = probeTranslate(c, lin | 0, false);
  if (p < 0) return -1;
  const f = c.host.frameForRead(p >>> 12);
  if (f < 0) return c.host.physRead(p, 1) & 0xff;
  refreshViews(c);
  return c.mem8[f + (p & 0xfff)];
}

export function debugWrite8(c: CpuCore, lin: number, v: number): void {
  const p = probeTranslate(c, lin | 0, true);
  if (p < 0) return;
  const f = c.host.frameForWrite(p >>> 12);
  if (f < 0) {
    c.host.physWrite(p, 1, v & 0xff);
    return;
  }
  refreshViews(c);
  c.mem8[f + (p & 0xfff)] = v;
}
