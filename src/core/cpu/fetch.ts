/**
 * Instruction fetch through a cached code-page pointer. `fp` is a host byte
 * offset into mem8, valid while fp < fpEnd (end of the TLB-cached code page,
 * clamped at the CS limit); EIP = fp + fpEipBase. When the pointer runs out
 * the slow path checks the CS limit (#GP(0)), translates the next page with
 * the current privilege (#PF) and re-establishes the pointer. Pages whose
 * frame is not cacheable are fetched byte by byte through host.physRead.
 * Bytes are only fetched as the decoder needs them, so an instruction that
 * ends exactly at a page end never touches the next page.
 */
import type { CpuCore } from './state.ts';
import { TLB_MASK } from './state.ts';
import { S_CS } from './constants.ts';
import { raiseGP } from './exceptions.ts';
import { translate, walkForFetch } from './paging.ts';
import { setEipRaw } from './tlb.ts';

export function getEip(c: CpuCore): number {
  return (c.fp + c.fpEipBase) | 0;
}

export function fetch8(c: CpuCore): number {
  const p = c.fp;
  if (p < c.fpEnd) {
    c.fp = p + 1;
    return c.mem8[p];
  }
  return fetchSlow8(c);
}

export function fetch16(c: CpuCore): number {
  const p = c.fp;
  if (p + 2 <= c.fpEnd) {
    c.fp = p + 2;
    return c.dv.getUint16(p, true);
  }
  const lo = fetchSlow8(c);
  return lo | (fetch8(c) << 8);
}

export function fetch32(c: CpuCore): number {
  const p = c.fp;
  if (p + 4 <= c.fpEnd) {
    c.fp = p + 4;
    return c.dv.getInt32(p, true);
  }
  const b0 = fetch8(c);
  const b1 = fetch8(c);
  const b2 = fetch8(c);
  return b0 | (b1 << 8) | (b2 << 16) | (fetch8(c) << 24);
}

/** Sign-extended imm8. */
export function fetchS8(c: CpuCore): number {
  return (fetch8(c) << 24) >> 24;
}

export function fetchSlow8(c: CpuCore): number {
  const eip = (c.fp + c.fpEipBase) | 0;
  const limit = c.segLimit[S_CS] >>> 0;
  if ((eip >>> 0) > limit) raiseGP(c, 0);
  const lin = (c.segBase[S_CS] + eip) | 0;
  const i = translate(c, lin, false, c.cpl === 3);
  if (i < 0) {
    const v = c.host.physRead(c.physAddr, 1) & 0xff;
    setEipRaw(c, eip + 1);
    return v;
  }
  const h = (lin + c.tlbDelta[i]) | 0;
  const pageOff = lin & 0xfff;
  const inSeg = limit - (eip >>> 0) + 1;
  const inPage = 0x1000 - pageOff;
  c.fpStart = h - Math.min(pageOff, eip >>> 0);
  c.fpEnd = h + (inSeg < inPage ? inSeg : inPage);
  c.fpEipBase = (eip - h) | 0;
  c.fp = h + 1;
  return c.mem8[h];
}

/**
 * Near jump to `eip` (already truncated to the operand size). Stays on the
 * cached page when possible; otherwise checks the CS limit now so the jump
 * itself faults (SDM: #GP(0) if the target is outside the CS limit).
 */
export function jumpTo(c: CpuCore, eip: number): void {
  const p = (eip - c.fpEipBase) | 0;
  if (p >= c.fpStart && p < c.fpEnd) {
    c.fp = p;
    return;
  }
  if ((eip >>> 0) > (c.segLimit[S_CS] >>> 0)) raiseGP(c, 0);
  setEipRaw(c, eip);
}

/**
 * The cached code page is gone (a jump or a JIT exit left it): re-establish
 * it so the JIT's entry check sees the next instruction's host offset. From
 * the TLB, or on a miss with the page walk the instruction fetch is about to
 * do anyway, when that walk cannot fault (if it can, nothing changes and the
 * fetch raises the fault). Without the walk, code whose page kept losing its
 * TLB slot to a data page was never checked here, so a block whose chain
 * cache entry had died was never entered (and renewed) again: busybox's PC
 * thunk cost 59,000-68,000 returns to JS per sort run. Flat code only.
 */
export function refetchFromTlb(c: CpuCore): void {
  if (c.segBase[S_CS] !== 0 || c.segLimit[S_CS] !== -1) return;
  const eip = (c.fp + c.fpEipBase) | 0;
  const vp = eip >>> 12;
  const i = vp & TLB_MASK;
  if (c.tlbRd[i] !== (vp | c.tlbKey)) {
    walkForFetch(c, eip);
    if (c.tlbRd[i] !== (vp | c.tlbKey)) return; // it would fault, not cacheable (MMIO), or no user tags while alignment checks are on
  }
  const h = (eip + c.tlbDelta[i]) | 0;
  const pageStart = h - (eip & 0xfff);
  c.fpStart = pageStart;
  c.fpEnd = pageStart + 0x1000;
  c.fpEipBase = (eip - h) | 0;
  c.fp = h;
}
