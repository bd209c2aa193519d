/**
 * The CPU side of the x87 contract (fpu/fpu-host.ts): the FpuHost adapter
 * giving the FPU segmented memory access and EFLAGS, and the checks the CPU
 * does before handing an ESC (D8-DF) instruction over: #NM when CR0.EM or
 * CR0.TS (SDM Vol. 3A 2.5, table 2-2), #MF before waiting instructions with
 * an unmasked exception pending. We always raise #MF (vector 16), also when
 * CR0.NE = 0 (no FERR#/IRQ13 emulation; Linux sets NE). Without an FPU,
 * ESC raises #NM when CR0.EM = 1 and #UD otherwise. With one, the encodings
 * a Pentium Pro reserves (fpu/x87-decode.ts isValidX87) raise #UD, ahead of
 * #NM (SDM Vol. 3A 6.9: invalid opcode is a decode fault).
 */
import { TLB_MASK, type CpuCore } from './state.ts';
import type { FpuHost } from './fpu/fpu-host.ts';
import { CR0_EM, CR0_MP, CR0_TS, F_CF, F_PF, F_ZF, F_OF, F_SF, F_AF, S_CS } from './constants.ts';
import { rd8, rd16, rd32, wr8, wr16, wr32, probeWrite, probeRead } from './access.ts';
import { readEflags, setSomeFlags } from './flags.ts';
import { raiseGP, raiseMF, raiseNM, raiseUD } from './exceptions.ts';
import { isValidX87 } from './fpu/x87-decode.ts';

export class FpuHostAdapter implements FpuHost {
  private readonly c: CpuCore;
  constructor(c: CpuCore) { this.c = c; }
  readU8(seg: number, offset: number): number { return rd8(this.c, seg, offset | 0); }
  readU16(seg: number, offset: number): number { return rd16(this.c, seg, offset | 0); }
  readU32(seg: number, offset: number): number { return rd32(this.c, seg, offset | 0) >>> 0; }
  writeU8(seg: number, offset: number, value: number): void { wr8(this.c, seg, offset | 0, value & 0xff); }
  writeU16(seg: number, offset: number, value: number): void { wr16(this.c, seg, offset | 0, value & 0xffff); }
  writeU32(seg: number, offset: number, value: number): void { wr32(this.c, seg, offset | 0, value | 0); }
  probeWrite(seg: number, offset: number, length: number): void { probeWrite(this.c, seg, offset | 0, length); }
  probeRead(seg: number, offset: number, length: number): void { probeRead(this.c, seg, offset | 0, length); }
  tryWriteBytes(seg: number, offset: number, bytes: Uint8Array): boolean {
    const at = directSpan(this.c, seg, offset, bytes.length, true);
    if (at < 0) return false;
    this.c.mem8.set(bytes, at);
    return true;
  }
  tryReadBytes(seg: number, offset: number, into: Uint8Array): boolean {
    const at = directSpan(this.c, seg, offset, into.length, false);
    if (at < 0) return false;
    into.set(this.c.mem8.subarray(at, at + into.length));
    return true;
  }
  setCompareFlags(zf: boolean, pf: boolean, cf: boolean): void {
    setSomeFlags(this.c, F_ZF | F_PF | F_CF | F_OF | F_SF | F_AF, (zf ? F_ZF : 0) | (pf ? F_PF : 0) | (cf ? F_CF : 0));
  }
  getEflags(): number { return readEflags(this.c); }
}

/**
 * Host offset of `length` bytes at seg:offset when an access needs nothing
 * but the TLB hit the data accessors' fast paths take (a segment that needs no
 * check, one page, a TLB entry for this kind of access), else -1.
 */
function directSpan(c: CpuCore, seg: number, offset: number, length: number, write: boolean): number {
  if ((write ? c.segOkW[seg] : c.segOkR[seg]) === 0) return -1;
  const lin = (c.segBase[seg]! + offset) | 0;
  if ((lin & 0xfff) + length > 0x1000) return -1;
  const vp = lin >>> 12;
  const i = vp & TLB_MASK;
  if ((write ? c.tlbWr : c.tlbRd)[i] !== (vp | c.tlbKey)) return -1;
  return (lin + c.tlbDelta[i]!) | 0;
}

/** FNINIT, FNCLEX, FNSTSW, FNSTCW, FNSTENV, FNSAVE do not check for pending exceptions. */
function nonWaiting(op: number, modrm: number): boolean {
  if (op === 0xdb) return modrm === 0xe2 || modrm === 0xe3;
  if (op === 0xdf) return modrm === 0xe0;
  if (modrm >= 0xc0) return false;
  const reg = (modrm >> 3) & 7;
  return (op === 0xd9 || op === 0xdd) && reg >= 6;
}

/** Execute an ESC opcode (D8-DF) whose ModRM/EA is already decoded. */
export function escape(c: CpuCore, op: number, modrm: number): void {
  const fpu = c.fpu;
  // A reserved encoding is an invalid opcode, found while decoding (before #NM).
  if (fpu !== null && !isValidX87(op, modrm)) raiseUD(c);
  if ((c.cr0 & (CR0_EM | CR0_TS)) !== 0) raiseNM(c);
  if (fpu === null) return raiseUD(c);
  if (!nonWaiting(op, modrm) && fpu.hasPendingException()) raiseMF(c);
  if (op === 0xdf && modrm === 0xe0) {
    c.regs[0] = (c.regs[0] & ~0xffff) | (fpu.readStatusWord() & 0xffff); // FNSTSW AX
    return;
  }
  fpu.execute(op, modrm, modrm < 0xc0 ? c.eaSeg : -1, c.ea >>> 0, c.o32, c.segSel[S_CS], c.eipStart >>> 0);
}

/** WAIT/FWAIT (9B). */
export function fwait(c: CpuCore): void {
  if ((c.cr0 & (CR0_MP | CR0_TS)) === (CR0_MP | CR0_TS)) raiseNM(c);
  if (c.fpu !== null && c.fpu.hasPendingException()) raiseMF(c);
}

/** FXSAVE (reg 0) / FXRSTOR (reg 1): 0F AE /0 /1, memory operand aligned to 16. */
export function fxsaveRestore(c: CpuCore, modrm: number): void {
  const reg = (modrm >> 3) & 7;
  const fpu = c.fpu;
  if (modrm >= 0xc0 || reg > 1 || fpu === null || (c.cr0 & CR0_EM) !== 0) return raiseUD(c);
  if ((c.cr0 & CR0_TS) !== 0) raiseNM(c);
  if (((c.segBase[c.eaSeg] + c.ea) & 15) !== 0) raiseGP(c, 0);
  if (reg === 0) fpu.fxsave(c.eaSeg, c.ea >>> 0);
  else fpu.fxrstor(c.eaSeg, c.ea >>> 0);
}
