/**
 * Linear → physical translation: the 2-level 32-bit page walk with 4 MiB
 * pages (CR4.PSE), global pages (CR4.PGE), U/S and R/W checks with CR0.WP,
 * accessed/dirty bit updates and #PF (SDM Vol. 3A 4.3, 4.6, 4.7, 4.8), plus
 * physical accessors for the walker and other system-level users.
 */
import type { CpuCore } from './state.ts';
import { TLB_MASK } from './state.ts';
import { CR0_PG, CR0_WP, CR4_PGE, CR4_PSE, PG_A, PG_D, PG_G, PG_P, PG_PS, PG_RW, PG_US } from './constants.ts';
import { raisePF } from './exceptions.ts';
import { refreshViews, tlbInsert } from './tlb.ts';

/** Read a 32-bit physical dword (page-table entries, never crosses a page when aligned). */
export function physRead32(c: CpuCore, addr: number): number {
  const f = c.host.frameForRead(addr >>> 12);
  if (f < 0) return c.host.physRead(addr >>> 0, 4) | 0;
  refreshViews(c);
  return c.dv.getInt32(f + (addr & 0xfff), true);
}

export function physWrite32(c: CpuCore, addr: number, v: number): void {
  const f = c.host.frameForWrite(addr >>> 12);
  if (f < 0) { c.host.physWrite(addr >>> 0, 4, v >>> 0); return; }
  refreshViews(c);
  c.dv.setInt32(f + (addr & 0xfff), v, true);
}

/**
 * Translate `lin` for an access of the given kind. Returns the TLB slot index
 * when the page is (now) cached for that access, or -1 when the frame is not
 * cacheable, in which case `c.physAddr` holds the physical address and the
 * caller must use host.physRead/physWrite. Throws #PF.
 */
export function translate(c: CpuCore, lin: number, write: boolean, user: boolean): number {
  const vp = lin >>> 12;
  const i = vp & TLB_MASK;
  const key = vp | c.tlbKey;
  const tags = write ? (user ? c.tlbWrUsr : c.tlbWrSys) : (user ? c.tlbRdUsr : c.tlbRdSys);
  if (tags[i] === key) return i;

  let pageBase: number; // physical address of the 4 KiB page
  let perm: number;
  let global = false;
  if ((c.cr0 & CR0_PG) === 0) {
    pageBase = lin & ~0xfff;
    perm = 15;
  } else {
    const pdeAddr = (c.cr3 & ~0xfff) + ((lin >>> 22) << 2);
    const pde = physRead32(c, pdeAddr);
    if ((pde & PG_P) === 0) raisePF(c, lin, false, write, user);
    let rw: number;
    let us: number;
    if ((pde & PG_PS) !== 0 && (c.cr4 & CR4_PSE) !== 0) {
      rw = pde & PG_RW;
      us = pde & PG_US;
      checkAccess(c, lin, rw, us, write, user);
      const want = PG_A | (write ? PG_D : 0);
      if ((pde & want) !== want) physWrite32(c, pdeAddr, pde | want);
      pageBase = (pde & 0xffc00000) | (lin & 0x3ff000);
      global = (pde & PG_G) !== 0 && (c.cr4 & CR4_PGE) !== 0;
      perm = permBits(c, rw, us, write);
    } else {
      const pteAddr = (pde & ~0xfff) + (((lin >>> 12) & 0x3ff) << 2);
      const pte = physRead32(c, pteAddr);
      if ((pte & PG_P) === 0) raisePF(c, lin, false, write, user);
      rw = pde & pte & PG_RW;
      us = pde & pte & PG_US;
      checkAccess(c, lin, rw, us, write, user);
      if ((pde & PG_A) === 0) physWrite32(c, pdeAddr, pde | PG_A);
      const want = PG_A | (write ? PG_D : 0);
      if ((pte & want) !== want) physWrite32(c, pteAddr, pte | want);
      pageBase = pte & ~0xfff;
      global = (pte & PG_G) !== 0 && (c.cr4 & CR4_PGE) !== 0;
      perm = permBits(c, rw, us, write);
    }
  }
  // Writable permissions are only cached after a write walk (which set D
  // and asked the host for a writable frame).
  if (!write) perm &= 5;
  const ppage = pageBase >>> 12;
  const f = write ? c.host.frameForWrite(ppage) : c.host.frameForRead(ppage);
  refreshViews(c);
  if (write && f >= 0) {
    if (c.jit !== null) c.jit.noteWrite(f >>> 12);
    if (c.blocks !== null && c.blocks.noteWrite(f >>> 12)) c.events = 1; // a running block stops after this instruction
  }
  if (f < 0) {
    c.physAddr = (pageBase | (lin & 0xfff)) >>> 0;
    return -1;
  }
  return tlbInsert(c, vp, f, perm, global);
}

function permBits(c: CpuCore, rw: number, us: number, write: boolean): number {
  let p = 1; // supervisor read always
  if (write) {
    if (rw !== 0 || (c.cr0 & CR0_WP) === 0) p |= 2;
    if (us !== 0 && rw !== 0) p |= 8;
  }
  if (us !== 0) p |= 4;
  return p;
}

function checkAccess(c: CpuCore, lin: number, rw: number, us: number, write: boolean, user: boolean): void {
  if (user) {
    if (us === 0 || (write && rw === 0)) raisePF(c, lin, true, write, true);
  } else if (write && rw === 0 && (c.cr0 & CR0_WP) !== 0) {
    raisePF(c, lin, true, true, false);
  }
}

/**
 * Whether an instruction fetch from `lin` would translate without a #PF
 * (present, and user-accessible for CPL 3), without side effects: asked
 * before walking on a fetch's behalf (walkForFetch).
 */
export function fetchWouldTranslate(c: CpuCore, lin: number, user: boolean): boolean {
  if ((c.cr0 & CR0_PG) === 0) return true;
  const pde = physRead32(c, (c.cr3 & ~0xfff) + ((lin >>> 22) << 2));
  if ((pde & PG_P) === 0 || (user && (pde & PG_US) === 0)) return false;
  if ((pde & PG_PS) !== 0 && (c.cr4 & CR4_PSE) !== 0) return true;
  const pte = physRead32(c, (pde & ~0xfff) + (((lin >>> 12) & 0x3ff) << 2));
  return (pte & PG_P) !== 0 && (!user || (pte & PG_US) !== 0);
}

/**
 * The page walk an instruction fetch from `lin` at the current privilege is
 * about to do, done ahead of it (filling the TLB, setting the accessed bits),
 * but only when it cannot fault; otherwise nothing happens and the fetch
 * itself raises the #PF. For code that must see a code page's host offset
 * before the fetch: the JIT's dispatcher (Jit codeTlb) and its entry check
 * after a jump (fetch.ts refetchFromTlb).
 */
export function walkForFetch(c: CpuCore, lin: number): void {
  const user = c.cpl === 3;
  if (fetchWouldTranslate(c, lin, user)) translate(c, lin, false, user);
}

/**
 * Debugger-style translation without side effects (no A/D updates, no #PF):
 * returns the physical address or -1 when not mapped / not permitted.
 */
export function probeTranslate(c: CpuCore, lin: number, write: boolean): number {
  if ((c.cr0 & CR0_PG) === 0) return lin >>> 0;
  const pde = physRead32(c, (c.cr3 & ~0xfff) + ((lin >>> 22) << 2));
  if ((pde & PG_P) === 0) return -1;
  if ((pde & PG_PS) !== 0 && (c.cr4 & CR4_PSE) !== 0) {
    if (write && (pde & PG_RW) === 0 && (c.cr0 & CR0_WP) !== 0) return -1;
    return ((pde & 0xffc00000) | (lin & 0x3fffff)) >>> 0;
  }
  const pte = physRead32(c, (pde & ~0xfff) + (((lin >>> 12) & 0x3ff) << 2));
  if ((pte & PG_P) === 0) return -1;
  if (write && (pde & pte & PG_RW) === 0 && (c.cr0 & CR0_WP) !== 0) return -1;
  return ((pte & ~0xfff) | (lin & 0xfff)) >>> 0;
}
