/**
 * String instructions MOVS CMPS STOS LODS SCAS INS OUTS with REP/REPE/REPNE
 * and 16/32-bit address size (SDM Vol. 2 "REP/REPE/REPZ/REPNE/REPNZ",
 * Vol. 1 7.3.9). Each iteration commits eCX/eSI/eDI only after its memory
 * accesses succeeded, so a fault mid-REP leaves consistent registers with
 * EIP at the instruction (it restarts). Long REPs yield every CHUNK
 * iterations by restarting the instruction, so interrupts stay responsive.
 * REP MOVS/STOS with DF=0 over flat segments copy whole page runs at once.
 */
import type { CpuCore } from './state.ts';
import { F_DF, F_TF, S_DS, S_ES } from './constants.ts';
import { rdSz, wrSz } from './access.ts';
import { alu, ALU_CMP } from './alu.ts';
import { getZF } from './flags.ts';
import { translate } from './paging.ts';
import { jumpTo } from './fetch.ts';
import { checkIoPermission } from './io.ts';

const CHUNK = 65536;

export function stringOp(c: CpuCore, op: number): void {
  const sz = (op & 1) === 0 ? 0 : c.o32 ? 2 : 1;
  const rep = c.rep !== 0;
  const r = c.regs;
  const a32 = c.a32;
  if (op === 0x6c || op === 0x6d || op === 0x6e || op === 0x6f) checkIoPermission(c, r[2] & 0xffff, 1 << sz);
  const fast = rep && a32 && (c.flags & F_DF) === 0 && !c.acActive && (op === 0xa4 || op === 0xa5 || op === 0xaa || op === 0xab);
  const step = (c.flags & F_DF) !== 0 ? -(1 << sz) : 1 << sz;
  const srcSeg = c.segOvr >= 0 ? c.segOvr : S_DS;
  const cond = op === 0xa6 || op === 0xa7 || op === 0xae || op === 0xaf;
  // Under single-step a REP instruction traps after every iteration, with EIP
  // still at the instruction and the registers showing the progress (SDM
  // Vol. 3B 17.3.1.4): do one iteration, then restart it.
  const maxIterations = (c.flags & F_TF) !== 0 ? 1 : CHUNK;
  let n = 0;
  for (;;) {
    if (rep) {
      const cnt = a32 ? r[1] : r[1] & 0xffff;
      if (cnt === 0) return;
      if (n >= maxIterations) {
        jumpTo(c, c.eipStart); // resume later: the instruction restarts with updated registers
        return;
      }
      if (fast && maxIterations === CHUNK && fastRep(c, op, sz)) return;
    }
    const si = a32 ? r[6] : r[6] & 0xffff;
    const di = a32 ? r[7] : r[7] & 0xffff;
    let dsi = 0;
    let ddi = 0;
    switch (op) {
      case 0xa4: case 0xa5: // MOVS
        wrSz(c, S_ES, di, sz, rdSz(c, srcSeg, si, sz));
        dsi = step; ddi = step;
        break;
      case 0xa6: case 0xa7: { // CMPS
        const a = rdSz(c, srcSeg, si, sz);
        const b = rdSz(c, S_ES, di, sz);
        alu(c, ALU_CMP, a, b, sz);
        dsi = step; ddi = step;
        break;
      }
      case 0xaa: case 0xab: // STOS
        wrSz(c, S_ES, di, sz, r[0]);
        ddi = step;
        break;
      case 0xac: case 0xad: { // LODS
        const v = rdSz(c, srcSeg, si, sz);
        if (sz === 0) r[0] = (r[0] & ~0xff) | v;
        else if (sz === 1) r[0] = (r[0] & ~0xffff) | v;
        else r[0] = v;
        dsi = step;
        break;
      }
      case 0xae: case 0xaf: // SCAS
        alu(c, ALU_CMP, r[0], rdSz(c, S_ES, di, sz), sz);
        ddi = step;
        break;
      case 0x6c: case 0x6d: { // INS: the port is read before the store (a faulting store loses the datum, as on hardware)
        wrSz(c, S_ES, di, sz, 0); // probe the destination first
        const v = c.host.ioRead(r[2] & 0xffff, (1 << sz) as 1 | 2 | 4);
        wrSz(c, S_ES, di, sz, v);
        ddi = step;
        break;
      }
      default: { // OUTS
        const v = rdSz(c, srcSeg, si, sz);
        c.host.ioWrite(r[2] & 0xffff, (1 << sz) as 1 | 2 | 4, sz === 2 ? v >>> 0 : v);
        dsi = step;
        break;
      }
    }
    if (a32) {
      r[6] = (r[6] + dsi) | 0;
      r[7] = (r[7] + ddi) | 0;
    } else {
      r[6] = (r[6] & ~0xffff) | ((r[6] + dsi) & 0xffff);
      r[7] = (r[7] & ~0xffff) | ((r[7] + ddi) & 0xffff);
    }
    if (!rep) return;
    if (a32) r[1] = (r[1] - 1) | 0;
    else r[1] = (r[1] & ~0xffff) | ((r[1] - 1) & 0xffff);
    n++;
    if (cond) {
      const zf = getZF(c);
      if (c.rep === 0xf3 ? zf === 0 : zf !== 0) return;
    }
  }
}

/** The byte whose repetition is the low 1 << sz bytes of `value` (what STOS stores), or -1 if they are not one byte repeated. */
function repeatedByte(value: number, sz: number): number {
  const b = value & 0xff;
  const mask = sz === 0 ? 0xff : sz === 1 ? 0xffff : -1;
  return (value & mask) === (Math.imul(b, 0x01010101) & mask) ? b : -1;
}

/**
 * REP MOVS/STOS, DF=0, 32-bit addressing, flat ES (and source) segments:
 * whole runs inside one page per step. Returns true when the instruction is
 * finished (or yielded by restarting itself); false after partial or no
 * progress (an element crossing a page, MMIO, tight overlap), in which case
 * the generic loop does one element and tries again.
 */
function fastRep(c: CpuCore, op: number, sz: number): boolean {
  const movs = op === 0xa4 || op === 0xa5;
  const srcSeg = c.segOvr >= 0 ? c.segOvr : S_DS;
  if (c.segOkW[S_ES] === 0 || (movs && c.segOkR[srcSeg] === 0)) return false;
  const r = c.regs;
  const user = c.cpl === 3;
  const size = 1 << sz;
  let budget = CHUNK * 16;
  while (r[1] !== 0) {
    const dLin = (c.segBase[S_ES] + r[7]) | 0;
    let n = Math.min(r[1] >>> 0, (0x1000 - (dLin & 0xfff)) >>> sz);
    let sLin = 0;
    if (movs) {
      sLin = (c.segBase[srcSeg] + r[6]) | 0;
      n = Math.min(n, (0x1000 - (sLin & 0xfff)) >>> sz);
    }
    if (n === 0) return false;
    let sHost = 0;
    if (movs) {
      const si = translate(c, sLin, false, user);
      if (si < 0) return false;
      sHost = (sLin + c.tlbDelta[si]) | 0;
    }
    const di = translate(c, dLin, true, user);
    if (di < 0) return false;
    const dHost = (dLin + c.tlbDelta[di]) | 0;
    const bytes = n << sz;
    const m = c.mem8;
    if (movs) {
      if (dHost > sHost && dHost < sHost + bytes) {
        if (dHost - sHost < size) return false;
        for (let k = 0; k < bytes; k++) m[dHost + k] = m[sHost + k];
      } else {
        m.copyWithin(dHost, sHost, sHost + bytes);
      }
      r[6] = (r[6] + bytes) | 0;
    } else {
      // Linux clears every page it hands out with REP STOSD of 0: one native fill, not 1024 stores.
      const fill = repeatedByte(r[0], sz);
      if (fill >= 0) {
        m.fill(fill, dHost, dHost + bytes);
      } else {
        const v = r[0];
        const dv = c.dv;
        if (sz === 1) for (let k = 0; k < bytes; k += 2) dv.setUint16(dHost + k, v, true);
        else for (let k = 0; k < bytes; k += 4) dv.setInt32(dHost + k, v, true);
      }
    }
    r[7] = (r[7] + bytes) | 0;
    r[1] = (r[1] - n) | 0;
    budget -= n;
    if (budget <= 0 && r[1] !== 0) {
      jumpTo(c, c.eipStart);
      return true;
    }
  }
  return true;
}
