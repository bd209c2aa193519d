/**
 * The software TLB: a direct-mapped, 4096-slot cache from virtual page to
 * host byte offset, with separate tags for supervisor/user x read/write so
 * the hot accessors need a single compare. Tags carry an epoch (`tlbKey`),
 * so a full flush is one increment; global pages (CR4.PGE, SDM Vol. 3A
 * 4.10.2.4) are re-tagged into the new epoch on a CR3 reload.
 *
 * Frames for which the host returns -1 are never inserted (see host.ts).
 * The cached code-page pointer (fetch.ts) is derived from the TLB, so every
 * flush also invalidates it.
 */
import type { CpuCore } from './state.ts';
import { TLB_SIZE, TLB_MASK } from './state.ts';

const EPOCH_LIMIT = 2047;

/** Re-create the memory views when the host replaced its buffer. */
export function refreshViews(c: CpuCore): void {
  const gen = c.bufGenCell[0]!;
  if (gen !== c.bufGen) {
    c.bufGen = gen;
    c.mem8 = new Uint8Array(c.host.buffer);
    c.dv = new DataView(c.host.buffer);
    if (c.jit !== null) c.jit.refreshViews();
  }
}

/** Forget the cached code-page pointer; the next fetch re-translates EIP. */
export function invalidateFetch(c: CpuCore): void {
  const eip = (c.fp + c.fpEipBase) | 0;
  c.fp = 0;
  c.fpEnd = 0;
  c.fpStart = 0;
  c.fpEipBase = eip;
}

/** Set EIP without any fetch-cache shortcut. */
export function setEipRaw(c: CpuCore, eip: number): void {
  c.fp = 0;
  c.fpEnd = 0;
  c.fpStart = 0;
  c.fpEipBase = eip | 0;
}

function clearAllTags(c: CpuCore): void {
  c.tlbRdSys.fill(0);
  c.tlbWrSys.fill(0);
  c.tlbRdUsr.fill(0);
  c.tlbWrUsr.fill(0);
  c.tlbVpage.fill(-1);
  c.tlbGlobal.fill(0);
  c.tlbGlobalCount = 0;
}

/**
 * Invalidate every translation. With keepGlobal (MOV CR3 with CR4.PGE set),
 * entries from global pages survive: they are moved into the new epoch.
 */
export function tlbFlush(c: CpuCore, keepGlobal: boolean): void {
  const oldKey = c.tlbKey;
  let epoch = (oldKey >>> 20) + 1;
  if (epoch > EPOCH_LIMIT) {
    // Epoch wrap: really clear so stale tags can never alias a new epoch.
    clearAllTags(c);
    epoch = 1;
    c.tlbKey = epoch << 20;
    invalidateFetch(c);
    return;
  }
  const key = epoch << 20;
  c.tlbKey = key;
  if (keepGlobal && c.tlbGlobalCount > 0) {
    const list = c.tlbGlobalList;
    let kept = 0;
    for (let k = 0; k < c.tlbGlobalCount; k++) {
      const i = list[k];
      if (c.tlbGlobal[i] === 0) continue;
      const vp = c.tlbVpage[i];
      const oldTag = vp | oldKey;
      const newTag = vp | key;
      if (c.tlbRdSys[i] === oldTag) c.tlbRdSys[i] = newTag;
      if (c.tlbWrSys[i] === oldTag) c.tlbWrSys[i] = newTag;
      if (c.tlbRdUsr[i] === oldTag) c.tlbRdUsr[i] = newTag;
      if (c.tlbWrUsr[i] === oldTag) c.tlbWrUsr[i] = newTag;
      list[kept++] = i;
    }
    c.tlbGlobalCount = kept;
  } else {
    c.tlbGlobal.fill(0);
    c.tlbGlobalCount = 0;
  }
  invalidateFetch(c);
}

/** INVLPG: drop the slot holding `lin`'s page, global or not (SDM Vol. 3A 4.10.4.1). */
export function tlbInvalidatePage(c: CpuCore, lin: number): void {
  const vp = lin >>> 12;
  const i = vp & TLB_MASK;
  if (c.tlbVpage[i] === vp) {
    c.tlbRdSys[i] = 0;
    c.tlbWrSys[i] = 0;
    c.tlbRdUsr[i] = 0;
    c.tlbWrUsr[i] = 0;
    c.tlbGlobal[i] = 0;
    c.tlbVpage[i] = -1;
  }
  invalidateFetch(c);
}

/**
 * Pick the tag arrays the hot accessors use: user or supervisor by CPL, or
 * the never-matching array while alignment checking is active (CR0.AM,
 * EFLAGS.AC, CPL 3: SDM Vol. 3A 6.15 #AC), which sends every data access to
 * the slow path where alignment is checked.
 */
export function tlbSelect(c: CpuCore): void {
  const user = c.cpl === 3;
  c.acActive = user && (c.cr0 & 0x40000) !== 0 && (c.flags & 0x40000) !== 0;
  if (c.acActive) {
    c.tlbRd = c.tlbNone;
    c.tlbWr = c.tlbNone;
  } else if (user) {
    c.tlbRd = c.tlbRdUsr;
    c.tlbWr = c.tlbWrUsr;
  } else {
    c.tlbRd = c.tlbRdSys;
    c.tlbWr = c.tlbWrSys;
  }
}

/**
 * Insert (or extend) the slot for virtual page `vp`. `perm` bits: 1 sys read,
 * 2 sys write, 4 user read, 8 user write.
 */
export function tlbInsert(c: CpuCore, vp: number, hostPage: number, perm: number, global: boolean): number {
  const i = vp & TLB_MASK;
  const key = vp | c.tlbKey;
  if (c.tlbVpage[i] !== vp || c.tlbDelta[i] !== ((hostPage - (vp << 12)) | 0)) {
    c.tlbRdSys[i] = 0;
    c.tlbWrSys[i] = 0;
    c.tlbRdUsr[i] = 0;
    c.tlbWrUsr[i] = 0;
    c.tlbGlobal[i] = 0;
    c.tlbVpage[i] = vp;
    c.tlbDelta[i] = (hostPage - (vp << 12)) | 0;
  }
  if (perm & 1) c.tlbRdSys[i] = key;
  if (perm & 2) c.tlbWrSys[i] = key;
  if (perm & 4) c.tlbRdUsr[i] = key;
  if (perm & 8) c.tlbWrUsr[i] = key;
  if (global && c.tlbGlobal[i] === 0) {
    c.tlbGlobal[i] = 1;
    if (c.tlbGlobalCount < TLB_SIZE) c.tlbGlobalList[c.tlbGlobalCount++] = i;
  }
  return i;
}

/**
 * Drop the write permissions of every slot that maps host frame `frame`, so
 * the next write to it takes the page walk (which tells the code caches:
 * paging.ts). Used when a frame starts holding decoded or compiled code.
 */
export function revokeFrameWrites(c: CpuCore, frame: number): void {
  const vpage = c.tlbVpage;
  const delta = c.tlbDelta;
  for (let i = 0; i < TLB_SIZE; i++) {
    const vp = vpage[i]!;
    if (vp !== -1 && ((((vp << 12) + delta[i]!) | 0) >>> 12) === frame) {
      c.tlbWrSys[i] = 0;
      c.tlbWrUsr[i] = 0;
    }
  }
}
