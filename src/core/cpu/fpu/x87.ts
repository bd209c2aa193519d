/**
 * The x87 FPU of a Pentium Pro: register stack, control/status/tag words,
 * exception responses and the dispatch of every D8..DF encoding.
 *
 * Exceptions (SDM Vol. 1 §8.4–8.5, Chapter 4.9): the operation computes its
 * result into an FpEnv; if IE (incl. stack faults), DE or ZE was raised and is
 * unmasked, the destination and the stack are left untouched; unmasked OE/UE
 * on a register destination deliver the re-biased result, on a memory
 * destination nothing is stored. Any unmasked flag sets ES and B; the CPU
 * raises #MF on the next waiting instruction (hasPendingException()).
 */
import type { FpuHost, FpuUnit } from './fpu-host.ts';
import {
  C_DENORMAL, C_INF, C_NORMAL, C_QNAN, C_SNAN, C_UNSUPPORTED, C_ZERO, DE, F80, FpEnv, IE, MASK64,
  RC_DOWN, RC_UP, RC_ZERO, SF, ZE, classify, indefinite,
} from './float80.ts';
import {
  fadd, fcompare, fdiv, fmul, fprem, frndint, fscale, fsqrt, fxtract,
} from './float80-arith.ts';
import { fromBCD, fromFloat32, fromFloat64, fromInteger, toBCD, toBinary, toInteger } from './float80-convert.ts';
import {
  MEM, OUT, fastAdd, fastCompare, fastDiv, fastFromDouble, fastFromInt32, fastFromSingle, fastMul, fastSqrt,
  fastToDouble, fastToSingle,
} from './float80-fast.ts';
import {
  f2xm1, fcos, fpatan, fsin, fsincos, ftan, fyl2x, fyl2xp1, trigOutOfRange,
} from './transcendental.ts';
import {
  type X87Environment, envSize, loadEnvironment, loadFxsave, readF80, readU64, storeEnvironment, storeFxsave,
  writeF80, writeU64,
} from './x87-env.ts';
import { isControlInstruction } from './x87-decode.ts';
import { CTL_CW, CTL_EMPTY, CTL_FCS, CTL_FDP, CTL_FDS, CTL_FIP, CTL_FOP, CTL_SW, CTL_TOP, X87Storage } from './x87-storage.ts';

export { isValidX87 } from './x87-decode.ts';

const SW_C0 = 0x0100;
const SW_C1 = 0x0200;
const SW_C2 = 0x0400;
const SW_C3 = 0x4000;
const SW_CC = SW_C0 | SW_C1 | SW_C2 | SW_C3;
const SW_ES = 0x0080;
const SW_B = 0x8000;
const SW_TOP = 0x3800;

/** Load-constant instructions (D9 E8..EE): value rounded to nearest, and which way that rounding went. */
interface FpConstant { se: number; sig: bigint; roundedUp: boolean | null }
const CONSTANTS: FpConstant[] = [
  { se: 0x3fff, sig: 0x8000000000000000n, roundedUp: null }, // 1
  { se: 0x4000, sig: 0xd49a784bcd1b8afen, roundedUp: false }, // log2(10)
  { se: 0x3fff, sig: 0xb8aa3b295c17f0bcn, roundedUp: true }, // log2(e)
  { se: 0x4000, sig: 0xc90fdaa22168c235n, roundedUp: true }, // pi
  { se: 0x3ffd, sig: 0x9a209a84fbcff799n, roundedUp: true }, // log10(2)
  { se: 0x3ffe, sig: 0xb17217f7d1cf79acn, roundedUp: true }, // ln(2)
  { se: 0x0000, sig: 0n, roundedUp: null }, // +0
];

/** Signals that the instruction must leave the destination/stack unchanged (unmasked pre-exception). */
const ABORT = 1;

export class X87 implements FpuUnit {
  /**
   * All state lives in one block of typed arrays (x87-storage.ts) that the
   * JIT can move into its state frame (`home`), where generated code runs
   * the common instructions on it. The registers are kept by physical
   * number: sign/exponent word and the significand as uint32 halves (not
   * BigInt), so that the fast paths of float80-fast.ts work on them by slot
   * index; `st()` builds the BigInt form for the reference code. Slot MEM
   * holds a widened memory operand.
   */
  private regs = new X87Storage();
  private regSE = this.regs.se;
  private regHi = this.regs.hi;
  private regLo = this.regs.lo;
  private ctl = this.regs.ctl;
  private readonly env = new FpEnv();

  private get cw(): number { return this.ctl[CTL_CW]!; }
  private set cw(v: number) { this.ctl[CTL_CW] = v; }
  /** Status word without TOP (bits 13:11 live in `top`). */
  private get sw(): number { return this.ctl[CTL_SW]!; }
  private set sw(v: number) { this.ctl[CTL_SW] = v; }
  private get top(): number { return this.ctl[CTL_TOP]!; }
  private set top(v: number) { this.ctl[CTL_TOP] = v; }
  /** Bit i set: physical register i is empty. */
  private get emptyMask(): number { return this.ctl[CTL_EMPTY]!; }
  private set emptyMask(v: number) { this.ctl[CTL_EMPTY] = v; }
  private get fip(): number { return this.ctl[CTL_FIP]! >>> 0; }
  private set fip(v: number) { this.ctl[CTL_FIP] = v; }
  private get fcs(): number { return this.ctl[CTL_FCS]!; }
  private set fcs(v: number) { this.ctl[CTL_FCS] = v; }
  private get fop(): number { return this.ctl[CTL_FOP]!; }
  private set fop(v: number) { this.ctl[CTL_FOP] = v; }
  private get fdp(): number { return this.ctl[CTL_FDP]! >>> 0; }
  private set fdp(v: number) { this.ctl[CTL_FDP] = v; }
  private get fds(): number { return this.ctl[CTL_FDS]!; }
  private set fds(v: number) { this.ctl[CTL_FDS] = v; }

  constructor(private readonly host: FpuHost) {
    this.reset();
  }

  /**
   * Moves the state into the block at `byteOffset` of `buffer` (the JIT's
   * state frame). `copy` carries the current state over; without it the
   * block already holds it (a grown memory's new buffer).
   */
  home(buffer: ArrayBufferLike, byteOffset: number, copy: boolean): void {
    const next = new X87Storage(buffer, byteOffset);
    if (copy) next.bytes.set(this.regs.bytes);
    this.regs = next;
    this.regSE = next.se;
    this.regHi = next.hi;
    this.regLo = next.lo;
    this.ctl = next.ctl;
  }

  // ---- FpuUnit --------------------------------------------------------------

  reset(): void {
    this.cw = 0x037f;
    this.sw = 0;
    this.top = 0;
    this.emptyMask = 0xff;
    this.fip = 0;
    this.fcs = 0;
    this.fop = 0;
    this.fdp = 0;
    this.fds = 0;
  }

  hasPendingException(): boolean {
    return (this.sw & SW_ES) !== 0;
  }

  readStatusWord(): number {
    return (this.sw & ~SW_TOP) | (this.top << 11);
  }

  execute(opcode: number, modrm: number, seg: number, offset: number,
    operandSize32: boolean, codeSelector: number, eip: number): void {
    this.env.setFromControlWord(this.cw);
    this.dispatch(opcode, modrm, seg, offset, operandSize32);
    // Updated only once the instruction completed, so that a fault (thrown by
    // the host) leaves them unchanged too.
    if (!isControlInstruction(opcode, modrm)) {
      this.fip = eip >>> 0;
      this.fcs = codeSelector & 0xffff;
      this.fop = ((opcode & 7) << 8) | modrm;
      if ((modrm & 0xc0) !== 0xc0) {
        this.fdp = offset >>> 0;
        this.fds = 0; // the contract passes a segment number, not its selector
      }
    }
  }

  private dispatch(opcode: number, modrm: number, seg: number, offset: number, operandSize32: boolean): void {
    const isMem = (modrm & 0xc0) !== 0xc0;
    const reg = (modrm >> 3) & 7;
    const i = modrm & 7;
    switch (opcode) {
      case 0xd8: return isMem ? this.arithM32(reg, seg, offset) : this.arithReg(reg, 0, i, false, false);
      case 0xd9: return isMem ? this.d9Mem(reg, seg, offset, operandSize32) : this.d9Reg(modrm);
      case 0xda:
        if (isMem) return this.arithInt(reg, this.host.readU32(seg, offset) | 0);
        if (modrm === 0xe9) return this.compareOp(1, true, 2);
        return this.fcmov(reg, false, i);
      case 0xdb: return isMem ? this.dbMem(reg, seg, offset) : this.dbReg(modrm);
      case 0xdc: return isMem ? this.arithM64(reg, seg, offset) : this.arithReg(reg, i, 0, true, false);
      case 0xdd: return isMem ? this.ddMem(reg, seg, offset, operandSize32) : this.ddReg(reg, i);
      case 0xde:
        if (isMem) return this.arithInt(reg, (this.host.readU16(seg, offset) << 16) >> 16);
        if (reg === 2) return this.compareOp(i, false, 1);
        if (reg === 3) return this.compareOp(1, false, 2);
        return this.arithReg(reg, i, 0, true, true);
      case 0xdf: return isMem ? this.dfMem(reg, seg, offset) : this.dfReg(reg, i);
    }
  }

  fxsave(seg: number, offset: number): void {
    this.host.probeWrite(seg, offset, 512);
    // The abridged tag: one bit per physical register, set when it is not empty (the full tag word is not needed).
    const tag = ~this.emptyMask & 0xff;
    storeFxsave(this.host, seg, offset, this.environment(0), tag, this.regs, this.top);
  }

  fxrstor(seg: number, offset: number): void {
    this.host.probeRead(seg, offset, 512);
    const { env, abridgedTag } = loadFxsave(this.host, seg, offset, this.regs);
    this.cw = env.cw;
    this.setStatusWordFrom(env.sw);
    this.fop = env.fop;
    this.fip = env.fip;
    this.fcs = env.fcs;
    this.fdp = env.fdp;
    this.fds = env.fds;
    this.emptyMask = ~abridgedTag & 0xff;
    this.updateES();
  }

  saveState(): Record<string, unknown> {
    const registers: Record<string, string> = {};
    for (let p = 0; p < 8; p++) {
      registers[`r${p}`] = this.regSE[p]!.toString(16).padStart(4, '0') + this.regHi[p]!.toString(16).padStart(8, '0')
        + this.regLo[p]!.toString(16).padStart(8, '0');
    }
    return {
      controlWord: this.cw,
      statusWord: this.readStatusWord(),
      tagWord: this.tagWord(),
      lastInstructionPointer: this.fip,
      lastInstructionSelector: this.fcs,
      lastOpcode: this.fop,
      lastDataPointer: this.fdp,
      lastDataSelector: this.fds,
      registers,
    };
  }

  restoreState(state: Record<string, unknown>): void {
    const num = (k: string): number => {
      const v = state[k];
      if (typeof v !== 'number') throw new Error(`x87 state: ${k} missing`);
      return v;
    };
    this.cw = num('controlWord');
    this.setStatusWordFrom(num('statusWord'));
    this.fip = num('lastInstructionPointer');
    this.fcs = num('lastInstructionSelector');
    this.fop = num('lastOpcode');
    this.fdp = num('lastDataPointer');
    this.fds = num('lastDataSelector');
    const registers = state.registers as Record<string, unknown> | undefined;
    for (let p = 0; p < 8; p++) {
      const s = registers?.[`r${p}`];
      if (typeof s !== 'string' || !/^[0-9a-f]{20}$/.test(s)) throw new Error(`x87 state: register r${p} missing`);
      this.regSE[p] = parseInt(s.slice(0, 4), 16);
      this.regHi[p] = parseInt(s.slice(4, 12), 16);
      this.regLo[p] = parseInt(s.slice(12), 16);
    }
    const tw = num('tagWord');
    this.emptyMask = 0;
    for (let p = 0; p < 8; p++) if (((tw >> (2 * p)) & 3) === 3) this.emptyMask |= 1 << p;
  }

  // ---- register stack ---------------------------------------------------------

  private phys(i: number): number { return (this.top + i) & 7; }
  private isEmpty(i: number): boolean { return ((this.emptyMask >> this.phys(i)) & 1) !== 0; }
  private sigOf(p: number): bigint { return (BigInt(this.regHi[p]!) << 32n) | BigInt(this.regLo[p]!); }
  private st(i: number): F80 { const p = this.phys(i); return new F80(this.regSE[p]!, this.sigOf(p)); }
  private setRaw(p: number, v: F80): void {
    this.regSE[p] = v.se;
    this.regHi[p] = Number((v.sig >> 32n) & 0xffffffffn);
    this.regLo[p] = Number(v.sig & 0xffffffffn);
  }
  /** Writes physical register p from raw fields and tags it valid (the fast paths' write-back). */
  private setPhys(p: number, se: number, hi: number, lo: number): void {
    this.regSE[p] = se;
    this.regHi[p] = hi;
    this.regLo[p] = lo;
    this.emptyMask &= ~(1 << p);
  }
  private setSt(i: number, v: F80): void {
    const p = this.phys(i);
    this.setRaw(p, v);
    this.emptyMask &= ~(1 << p);
  }
  private pop(): void {
    this.emptyMask |= 1 << this.top;
    this.top = (this.top + 1) & 7;
  }
  private push(v: F80): void {
    this.top = (this.top - 1) & 7;
    this.setSt(0, v);
  }

  /** Full tag word: 00 valid, 01 zero, 10 special, 11 empty (per physical register). */
  private tagWord(): number {
    let tw = 0;
    for (let p = 0; p < 8; p++) {
      let t: number;
      if ((this.emptyMask >> p) & 1) t = 3;
      else {
        const c = classify(this.regSE[p]!, this.sigOf(p));
        t = c === C_ZERO ? 1 : c === C_NORMAL ? 0 : 2;
      }
      tw |= t << (2 * p);
    }
    return tw;
  }

  private setTagWord(tw: number): void {
    this.emptyMask = 0;
    for (let p = 0; p < 8; p++) if (((tw >> (2 * p)) & 3) === 3) this.emptyMask |= 1 << p;
  }

  private setStatusWordFrom(sw: number): void {
    this.top = (sw >> 11) & 7;
    this.sw = sw & ~SW_TOP;
  }

  /** The environment fields; `tw` defaults to the full tag word (FXSAVE stores an abridged tag instead and passes 0). */
  private environment(tw = this.tagWord()): X87Environment {
    return {
      cw: this.cw, sw: this.readStatusWord(), tw,
      fip: this.fip, fcs: this.fcs, fop: this.fop, fdp: this.fdp, fds: this.fds,
    };
  }

  /** ES and B follow the unmasked exception flags. */
  private updateES(): void {
    if ((this.sw & 0x3f & ~this.cw) !== 0) this.sw |= SW_ES | SW_B;
    else this.sw &= ~(SW_ES | SW_B);
  }

  // ---- exception plumbing ----------------------------------------------------------

  /** Merges the env's flags into the status word; `c1` is written unless null. */
  private raise(c1: boolean | null): void {
    const f = this.env.flags;
    this.sw |= f & 0x7f;
    if (c1 !== null) this.sw = c1 ? this.sw | SW_C1 : this.sw & ~SW_C1;
    this.updateES();
  }

  /** After computing: returns ABORT if an unmasked IE/DE/ZE prevents the write-back (flags already merged). */
  private checkPre(blocking = IE | DE | ZE): number {
    const env = this.env;
    if (env.unmasked(blocking)) {
      let keep = env.flags & (IE | DE | ZE | SF);
      if (env.unmasked(IE)) keep &= IE | SF | DE;
      else if (env.unmasked(DE)) keep &= DE | IE | SF;
      env.flags = keep;
      this.raise((keep & SF) !== 0 ? null : false);
      return ABORT;
    }
    return 0;
  }

  private stackUnderflow(): boolean {
    this.env.flags |= IE | SF;
    this.sw &= ~SW_C1;
    return (this.env.masks & IE) !== 0;
  }

  private stackOverflow(): boolean {
    this.env.flags |= IE | SF;
    this.sw |= SW_C1;
    return (this.env.masks & IE) !== 0;
  }

  /** Finishes an instruction whose register result is `r` for ST(dest); pops `pops` times. */
  private writeResult(dest: number, r: F80, pops: number): void {
    if (this.checkPre() === ABORT) return;
    this.setSt(dest, r);
    this.raise(this.env.roundedUp);
    for (let k = 0; k < pops; k++) this.pop();
  }

  private setCC(c3: boolean, c2: boolean, c1: boolean, c0: boolean): void {
    this.sw = (this.sw & ~SW_CC) | (c3 ? SW_C3 : 0) | (c2 ? SW_C2 : 0) | (c1 ? SW_C1 : 0) | (c0 ? SW_C0 : 0);
  }

  // ---- memory operands -----------------------------------------------------------

  /** D8 memory forms: the m32 operand takes the fast path when it is normal or zero. */
  private arithM32(reg: number, seg: number, off: number): void {
    const bits = this.host.readU32(seg, off) >>> 0;
    if (fastFromSingle(this.regs, MEM, bits)) return this.arithSlot(reg);
    this.arithMem(reg, fromFloat32(this.env, bits, false));
  }

  /** DC memory forms (m64), read low half first as readU64 does. */
  private arithM64(reg: number, seg: number, off: number): void {
    const lo = this.host.readU32(seg, off) >>> 0;
    const hi = this.host.readU32(seg, off + 4) >>> 0;
    if (fastFromDouble(this.regs, MEM, hi, lo)) return this.arithSlot(reg);
    this.arithMem(reg, fromFloat64(this.env, (BigInt(hi) << 32n) | BigInt(lo), false));
  }

  /** DA/DE memory forms (m32int/m16int): integers convert exactly. */
  private arithInt(reg: number, v: number): void {
    fastFromInt32(this.regs, MEM, v);
    this.arithSlot(reg);
  }

  /**
   * ST(0) op m with m already widened into slot MEM: the fast path when ST(0)
   * is valid and both are normal, otherwise the reference code.
   */
  private arithSlot(reg: number): void {
    if (!this.isEmpty(0)) {
      const p = this.top;
      if (reg === 2 || reg === 3) {
        const r = fastCompare(this.regs, p, MEM);
        if (r !== 2) return this.finishCompare(r, reg === 3 ? 1 : 0);
      } else if (this.fastCompute(reg, p, MEM)) {
        return this.finishFast(p, 0);
      }
    }
    this.arithMem(reg, new F80(this.regSE[MEM]!, this.sigOf(MEM)));
  }

  // ---- arithmetic ------------------------------------------------------------

  private compute(op: number, a: F80, b: F80): F80 {
    const env = this.env;
    switch (op) {
      case 0: return fadd(env, a, b, false);
      case 1: return fmul(env, a, b);
      case 4: return fadd(env, a, b, true);
      case 5: return fadd(env, b, a, true);
      case 6: return fdiv(env, a, b);
      default: return fdiv(env, b, a);
    }
  }

  /**
   * The fast path of `compute(op, a, b)` with a and b in register-file slots;
   * true when it took the case (result in OUT, flags in env).
   */
  private fastCompute(op: number, a: number, b: number): boolean {
    const env = this.env;
    const r = this.regs;
    switch (op) {
      case 0: return fastAdd(env, r, a, b, 0);
      case 1: return fastMul(env, r, a, b);
      case 4: return fastAdd(env, r, a, b, 1);
      case 5: return fastAdd(env, r, b, a, 1);
      case 6: return fastDiv(env, r, a, b);
      default: return fastDiv(env, r, b, a);
    }
  }

  /** Writes a fast result to physical register p and finishes like `writeResult` (only PE can be raised). */
  private finishFast(p: number, pops: number): void {
    this.setPhys(p, OUT[0]!, OUT[1]!, OUT[2]!);
    this.raise(this.env.roundedUp);
    for (let k = 0; k < pops; k++) this.pop();
  }

  /** D8/DC/DA/DE memory forms: ST(0) ← ST(0) op m, or FCOM(P) m. */
  private arithMem(reg: number, m: F80): void {
    if (reg === 2 || reg === 3) return this.compareWith(m, false, reg === 3 ? 1 : 0, false);
    if (this.isEmpty(0)) {
      if (!this.stackUnderflow()) return this.raise(null);
      this.env.flags &= IE | SF;
      this.setSt(0, indefinite());
      return this.raise(null);
    }
    const r = this.compute(reg, this.st(0), m);
    this.writeResult(0, r, 0);
  }

  /** Register forms: ST(dest) ← ST(dest) op ST(src); `rev` swaps sub/subr and div/divr (DC/DE). */
  private arithReg(reg: number, dest: number, src: number, rev: boolean, pop: boolean): void {
    if (reg === 2 || reg === 3) return this.compareOp(dest === 0 ? src : dest, false, reg === 3 ? 1 : 0);
    let op = reg;
    if (rev && reg >= 4) op ^= 1;
    if (this.isEmpty(dest) || this.isEmpty(src)) {
      if (!this.stackUnderflow()) return this.raise(null);
      this.setSt(dest, indefinite());
      this.raise(null);
      if (pop) this.pop();
      return;
    }
    const pd = this.phys(dest);
    const ps = this.phys(src);
    if (this.fastCompute(op, pd, ps)) return this.finishFast(pd, pop ? 1 : 0);
    const r = this.compute(op, this.st(dest), this.st(src));
    this.writeResult(dest, r, pop ? 1 : 0);
  }

  // ---- compares ---------------------------------------------------------------

  private ccFromCompare(r: number): void {
    // > : 000, < : C0, = : C3, unordered: C3 C2 C0; C1 = 0
    this.setCC(r === 0 || r === 2, r === 2, false, r === -1 || r === 2);
  }

  /** FCOM/FUCOM ST(0), ST(i) with `pops` pops. */
  private compareOp(i: number, unordered: boolean, pops: number): void {
    if (this.isEmpty(0) || this.isEmpty(i)) {
      const masked = this.stackUnderflow();
      this.ccFromCompare(2);
      this.raise(null);
      if (masked) for (let k = 0; k < pops; k++) this.pop();
      return;
    }
    const r = fastCompare(this.regs, this.top, this.phys(i));
    if (r !== 2) return this.finishCompare(r, pops);
    this.compareWith(this.st(i), unordered, pops, true);
  }

  /** Ends a compare of two normal/zero values (no exception possible): C3/C2/C0, C1 = 0, pops. */
  private finishCompare(r: number, pops: number): void {
    this.ccFromCompare(r);
    this.raise(false);
    for (let k = 0; k < pops; k++) this.pop();
  }

  private compareWith(b: F80, unordered: boolean, pops: number, checked: boolean): void {
    if (!checked && this.isEmpty(0)) {
      const masked = this.stackUnderflow();
      this.ccFromCompare(2);
      this.raise(null);
      if (masked) for (let k = 0; k < pops; k++) this.pop();
      return;
    }
    const r = fcompare(this.env, this.st(0), b, unordered);
    // The condition codes are written even when the exception is unmasked (as the hardware does).
    this.ccFromCompare(r);
    if (this.checkPre() === ABORT) return;
    this.raise(false);
    for (let k = 0; k < pops; k++) this.pop();
  }

  /** FCOMI/FUCOMI(P): EFLAGS from ST(0) vs ST(i); written even when the exception is unmasked. */
  private compareEflags(i: number, unordered: boolean, pop: boolean): void {
    if (this.isEmpty(0) || this.isEmpty(i)) {
      const masked = this.stackUnderflow();
      this.host.setCompareFlags(true, true, true);
      this.raise(null);
      if (masked && pop) this.pop();
      return;
    }
    const fr = fastCompare(this.regs, this.top, this.phys(i));
    const r = fr !== 2 ? fr : fcompare(this.env, this.st(0), this.st(i), unordered);
    this.host.setCompareFlags(r === 0 || r === 2, r === 2, r === -1 || r === 2);
    if (this.checkPre() === ABORT) return;
    this.raise(false);
    if (pop) this.pop();
  }

  private fcmov(reg: number, negate: boolean, i: number): void {
    const fl = this.host.getEflags();
    const cf = (fl & 1) !== 0;
    const pf = (fl & 4) !== 0;
    const zf = (fl & 0x40) !== 0;
    let cond = reg === 0 ? cf : reg === 1 ? zf : reg === 2 ? cf || zf : pf;
    if (negate) cond = !cond;
    if (this.isEmpty(0) || this.isEmpty(i)) {
      // Masked stack underflow loads the indefinite whatever the condition.
      if (!this.stackUnderflow()) return this.raise(null);
      this.setSt(0, indefinite());
      return this.raise(null);
    }
    this.sw &= ~SW_C1;
    if (cond) {
      const p = this.phys(i);
      this.setPhys(this.top, this.regSE[p]!, this.regHi[p]!, this.regLo[p]!);
    }
  }

  // ---- loads and stores -----------------------------------------------------------

  /**
   * The fast form of `pushValue` for a value that raised nothing and is
   * already in physical register p = ST(7), which the caller checked empty.
   */
  private pushFilled(p: number): void {
    this.top = p;
    this.emptyMask &= ~(1 << p);
    this.raise(false);
  }

  /** The register a push writes: ST(7) before the push. */
  private pushSlot(): number { return (this.top - 1) & 7; }

  private fldM64(seg: number, off: number): void {
    const lo = this.host.readU32(seg, off) >>> 0;
    const hi = this.host.readU32(seg, off + 4) >>> 0;
    // The conversion writes the (empty) target register only when it succeeds.
    if (this.isEmpty(7) && fastFromDouble(this.regs, this.pushSlot(), hi, lo)) return this.pushFilled(this.pushSlot());
    this.pushValue(fromFloat64(this.env, (BigInt(hi) << 32n) | BigInt(lo), true));
  }

  private fldM32(seg: number, off: number): void {
    const bits = this.host.readU32(seg, off) >>> 0;
    if (this.isEmpty(7) && fastFromSingle(this.regs, this.pushSlot(), bits)) return this.pushFilled(this.pushSlot());
    this.pushValue(fromFloat32(this.env, bits, true));
  }

  private fildInt(v: number): void {
    if (!this.isEmpty(7)) return this.pushValue(fromInteger(BigInt(v)));
    fastFromInt32(this.regs, this.pushSlot(), v);
    this.pushFilled(this.pushSlot());
  }

  /** FLD/FILD/FBLD/constants: push `v` (already converted; flags in env). */
  private pushValue(v: F80): void {
    if (!this.isEmpty(7)) {
      // Stack overflow: the value's own exceptions (e.g. DE of a denormal m32) are not reported.
      this.env.flags &= IE | SF;
      if (!this.stackOverflow()) return this.raise(null);
      this.push(indefinite());
      return this.raise(null);
    }
    // An unmasked DE (FLD m32/m64 of a denormal) does not stop the load.
    if (this.checkPre(IE) === ABORT) return;
    this.push(v);
    this.raise(false);
  }

  /** The source of a store: ST(0), or the indefinite on (masked) stack underflow; null when aborted. */
  private storeSource(): F80 | null {
    if (this.isEmpty(0)) {
      if (!this.stackUnderflow()) { this.raise(null); return null; }
      return indefinite();
    }
    return this.st(0);
  }

  /** Finishes a memory store: `write` runs unless an unmasked exception forbids it. */
  private finishStore(write: () => void, pop: boolean, postUnmaskedBlocks: boolean): void {
    const env = this.env;
    const underflowed = (env.flags & SF) !== 0;
    if (!underflowed && this.checkPre() === ABORT) return;
    if (postUnmaskedBlocks && env.unmasked(0x18)) {
      // Unmasked overflow/underflow on a memory destination: nothing stored, no pop,
      // and only OE/UE are reported (no PE, C1 = 0).
      env.flags &= ~0x20;
      this.raise(false);
      return;
    }
    write();
    this.raise(underflowed ? null : env.roundedUp);
    if (pop) this.pop();
  }

  private storeReal(seg: number, off: number, bytes: number, pop: boolean): void {
    this.host.probeWrite(seg, off, bytes);
    if (!this.isEmpty(0) && this.storeRealFast(seg, off, bytes)) {
      if (pop) this.pop();
      return;
    }
    const v = this.storeSource();
    if (v === null) return;
    const host = this.host;
    if (bytes === 4) {
      const bits = Number(toBinary(this.env, v, 24, 8));
      this.finishStore(() => host.writeU32(seg, off, bits), pop, true);
    } else {
      const bits = toBinary(this.env, v, 53, 11);
      this.finishStore(() => writeU64(host, seg, off, bits), pop, true);
    }
  }

  /** FST m32/m64 of a normal ST(0) whose result is a normal single/double: only PE and C1 can result. */
  private storeRealFast(seg: number, off: number, bytes: number): boolean {
    const p = this.top;
    const env = this.env;
    if (bytes === 8) {
      if (!fastToDouble(env, this.regs, p)) return false;
      this.host.writeU32(seg, off, OUT[2]!);
      this.host.writeU32(seg, off + 4, OUT[1]!);
    } else {
      if (!fastToSingle(env, this.regs, p)) return false;
      this.host.writeU32(seg, off, OUT[2]!);
    }
    this.raise(env.roundedUp);
    return true;
  }

  private storeInt(seg: number, off: number, bytes: number, pop: boolean): void {
    this.host.probeWrite(seg, off, bytes);
    const v = this.storeSource();
    if (v === null) return;
    const bits = bytes * 8;
    const min = -(1n << BigInt(bits - 1));
    let n: bigint | null = min;
    if ((this.env.flags & SF) === 0) n = toInteger(this.env, v, min, -min - 1n);
    const val = n ?? min;
    const host = this.host;
    this.finishStore(() => {
      if (bytes === 2) host.writeU16(seg, off, Number(val & 0xffffn));
      else if (bytes === 4) host.writeU32(seg, off, Number(val & 0xffffffffn));
      else writeU64(host, seg, off, val & MASK64);
    }, pop, false);
  }

  private storeBCD(seg: number, off: number): void {
    this.host.probeWrite(seg, off, 10);
    const v = this.storeSource();
    if (v === null) return;
    let bytes: Uint8Array;
    if ((this.env.flags & SF) !== 0) {
      bytes = new Uint8Array(10);
      bytes[9] = 0xff; bytes[8] = 0xff; bytes[7] = 0xc0;
    } else bytes = toBCD(this.env, v);
    const host = this.host;
    this.finishStore(() => {
      for (let k = 0; k < 10; k++) host.writeU8(seg, off + k, bytes[k]!);
    }, true, false);
  }

  private storeExtended(seg: number, off: number): void {
    this.host.probeWrite(seg, off, 10);
    const v = this.storeSource();
    if (v === null) return;
    const host = this.host;
    this.finishStore(() => writeF80(host, seg, off, v), true, false);
  }

  /** FST/FSTP ST(i). */
  private storeReg(i: number, pop: boolean): void {
    if (!this.isEmpty(0)) {
      const p = this.top;
      this.setPhys(this.phys(i), this.regSE[p]!, this.regHi[p]!, this.regLo[p]!);
      this.raise(false);
      if (pop) this.pop();
      return;
    }
    const v = this.storeSource();
    if (v === null) return;
    this.setSt(i, v);
    this.raise((this.env.flags & SF) !== 0 ? null : false);
    if (pop) this.pop();
  }

  // ---- opcode groups ------------------------------------------------------------

  private d9Mem(reg: number, seg: number, off: number, o32: boolean): void {
    switch (reg) {
      case 0: return this.fldM32(seg, off);
      case 2: return this.storeReal(seg, off, 4, false);
      case 3: return this.storeReal(seg, off, 4, true);
      case 4: return this.fldenv(seg, off, o32);
      case 5:
        this.cw = this.host.readU16(seg, off);
        this.updateES();
        return;
      case 6: return this.fnstenv(seg, off, o32);
      case 7: return this.host.writeU16(seg, off, this.cw);
    }
  }

  private d9Reg(modrm: number): void {
    const i = modrm & 7;
    const env = this.env;
    switch (modrm >> 3) {
      case 0x18: { // FLD ST(i)
        const srcEmpty = this.isEmpty(i);
        if (!srcEmpty && this.isEmpty(7)) {
          const p = this.phys(i);
          const q = this.pushSlot();
          this.setPhys(q, this.regSE[p]!, this.regHi[p]!, this.regLo[p]!);
          return this.pushFilled(q);
        }
        if (srcEmpty && !this.stackUnderflow()) return this.raise(null);
        return this.pushValue(srcEmpty ? indefinite() : this.st(i));
      }
      case 0x19: return this.fxch(i);
      case 0x1a: return; // FNOP
      case 0x1b: // FSTP1 (undocumented alias): no empty check, the tag is copied along (as the host CPU does)
        if (this.isEmpty(0)) {
          this.emptyMask |= 1 << this.phys(i);
          this.sw &= ~SW_C1;
          this.pop();
          return;
        }
        return this.storeReg(i, true);
    }
    switch (modrm) {
      case 0xe0: case 0xe1: { // FCHS, FABS
        if (!this.isEmpty(0)) {
          const p = this.top;
          this.regSE[p] = modrm === 0xe0 ? this.regSE[p]! ^ 0x8000 : this.regSE[p]! & 0x7fff;
          return this.raise(false);
        }
        const v = this.storeSource();
        if (v === null) return;
        if ((env.flags & SF) === 0) {
          const se = modrm === 0xe0 ? v.se ^ 0x8000 : v.se & 0x7fff;
          this.setSt(0, new F80(se, v.sig));
          this.raise(false);
        } else {
          this.setSt(0, v);
          this.raise(null);
        }
        return;
      }
      case 0xe4: // FTST
        if (this.isEmpty(0)) return this.compareOp(0, false, 0);
        return this.compareWith(new F80(0, 0n), false, 0, true);
      case 0xe5: return this.fxam();
      case 0xe8: case 0xee: // FLD1, FLDZ: exact, no rounding
        if (this.isEmpty(7)) {
          const q = this.pushSlot();
          this.setPhys(q, modrm === 0xe8 ? 0x3fff : 0, modrm === 0xe8 ? 0x80000000 : 0, 0);
          return this.pushFilled(q);
        }
        return this.pushValue(this.constant(modrm - 0xe8));
      case 0xe9: case 0xea: case 0xeb: case 0xec: case 0xed:
        return this.pushValue(this.constant(modrm - 0xe8));
      case 0xf0: return this.unaryOp((a) => f2xm1(env, a));
      case 0xf1: return this.binaryPopOp((y, x) => fyl2x(env, y, x));
      case 0xf2: return this.fptan();
      case 0xf3: return this.binaryPopOp((y, x) => fpatan(env, y, x));
      case 0xf4: return this.fxtractOp();
      case 0xf5: return this.fpremOp(true);
      case 0xf6:
        this.top = (this.top - 1) & 7;
        this.sw &= ~SW_C1;
        return;
      case 0xf7:
        this.top = (this.top + 1) & 7;
        this.sw &= ~SW_C1;
        return;
      case 0xf8: return this.fpremOp(false);
      case 0xf9: return this.binaryPopOp((y, x) => fyl2xp1(env, y, x));
      case 0xfa: // FSQRT
        if (!this.isEmpty(0) && fastSqrt(env, this.regs, this.top)) {
          return this.finishFast(this.top, 0);
        }
        return this.unaryOp((a) => fsqrt(env, a));
      case 0xfb: return this.fsincosOp();
      case 0xfc: return this.unaryOp((a) => frndint(env, a));
      case 0xfd: return this.fscaleOp();
      case 0xfe: return this.trigOp((a) => fsin(env, a));
      case 0xff: return this.trigOp((a) => fcos(env, a));
    }
  }

  private constant(k: number): F80 {
    const c = CONSTANTS[k]!;
    let sig = c.sig;
    const rc = this.env.rc;
    if (c.roundedUp === true && (rc === RC_DOWN || rc === RC_ZERO)) sig -= 1n;
    else if (c.roundedUp === false && rc === RC_UP) sig += 1n;
    return new F80(c.se, sig);
  }

  private fxch(i: number): void {
    if (this.isEmpty(0) || this.isEmpty(i)) {
      if (!this.stackUnderflow()) return this.raise(null);
      const a = this.isEmpty(0) ? indefinite() : this.st(0);
      const b = this.isEmpty(i) ? indefinite() : this.st(i);
      this.setSt(0, b);
      this.setSt(i, a);
      return this.raise(null);
    }
    const p = this.top;
    const q = this.phys(i);
    const se = this.regSE[p]!;
    const hi = this.regHi[p]!;
    const lo = this.regLo[p]!;
    this.setPhys(p, this.regSE[q]!, this.regHi[q]!, this.regLo[q]!);
    this.setPhys(q, se, hi, lo);
    this.sw &= ~SW_C1;
  }

  private fxam(): void {
    const v = this.st(0);
    const sign = v.sign === 1;
    if (this.isEmpty(0)) return this.setCC(true, false, sign, true);
    switch (classify(v.se, v.sig)) {
      case C_UNSUPPORTED: return this.setCC(false, false, sign, false);
      case C_QNAN: case C_SNAN: return this.setCC(false, false, sign, true);
      case C_NORMAL: return this.setCC(false, true, sign, false);
      case C_INF: return this.setCC(false, true, sign, true);
      case C_ZERO: return this.setCC(true, false, sign, false);
      case C_DENORMAL: return this.setCC(true, true, sign, false);
    }
  }

  /** ST(0) ← f(ST(0)). */
  private unaryOp(f: (a: F80) => F80): void {
    if (this.isEmpty(0)) {
      if (!this.stackUnderflow()) return this.raise(null);
      this.setSt(0, indefinite());
      return this.raise(null);
    }
    this.writeResult(0, f(this.st(0)), 0);
  }

  /** ST(1) ← f(ST(1), ST(0)); pop. */
  private binaryPopOp(f: (st1: F80, st0: F80) => F80): void {
    if (this.isEmpty(0) || this.isEmpty(1)) {
      if (!this.stackUnderflow()) return this.raise(null);
      this.setSt(1, indefinite());
      this.raise(null);
      this.pop();
      return;
    }
    this.writeResult(1, f(this.st(1), this.st(0)), 1);
  }

  private trigOp(f: (a: F80) => F80): void {
    if (!this.isEmpty(0) && trigOutOfRange(this.st(0))) {
      this.sw = (this.sw | SW_C2) & ~SW_C1;
      return;
    }
    this.sw &= ~SW_C2;
    this.unaryOp(f);
  }

  private fptan(): void {
    this.pushPairOp((a) => {
      const t = ftan(this.env, a);
      const c = classify(t.se, t.sig);
      return [t, c === C_QNAN || c === C_SNAN ? t : new F80(0x3fff, 1n << 63n)];
    });
  }

  private fsincosOp(): void {
    this.pushPairOp((a) => fsincos(this.env, a));
  }

  private fxtractOp(): void {
    this.pushPairOp((a) => fxtract(this.env, a), false);
  }

  /**
   * FXTRACT/FSINCOS/FPTAN: ST(0) = x is replaced by `first`, then `second` is
   * pushed. FPTAN's NaN/invalid results replace ST(0) and push the same NaN.
   */
  private pushPairOp(f: (a: F80) => [F80, F80], trig = true): void {
    if (this.isEmpty(0)) {
      if (!this.stackUnderflow()) return this.raise(null);
      this.setSt(0, indefinite());
      this.push(indefinite());
      return this.raise(null);
    }
    if (!this.isEmpty(7)) {
      if (!this.stackOverflow()) return this.raise(null);
      this.setSt(0, indefinite());
      this.push(indefinite());
      return this.raise(null);
    }
    if (trig) {
      // Stack faults are checked before the range: |x| ≥ 2^63 sets C2 and leaves x.
      if (trigOutOfRange(this.st(0))) {
        this.sw = (this.sw | SW_C2) & ~SW_C1;
        return;
      }
      this.sw &= ~SW_C2;
    }
    const [first, second] = f(this.st(0));
    if (this.checkPre() === ABORT) return;
    this.setSt(0, first);
    this.push(second);
    this.raise(this.env.roundedUp);
  }

  private fpremOp(ieee: boolean): void {
    if (this.isEmpty(0) || this.isEmpty(1)) {
      if (!this.stackUnderflow()) return this.raise(null);
      this.setSt(0, indefinite());
      return this.raise(null);
    }
    const { r, c } = fprem(this.env, this.st(0), this.st(1), ieee);
    if (this.checkPre() === ABORT) return;
    this.setSt(0, r);
    if (c >= 0) this.setCC((c & 8) !== 0, (c & 4) !== 0, (c & 2) !== 0, (c & 1) !== 0);
    else this.sw &= ~(SW_C2 | SW_C1);
    this.raise(null);
  }

  private fscaleOp(): void {
    if (this.isEmpty(0) || this.isEmpty(1)) {
      if (!this.stackUnderflow()) return this.raise(null);
      this.setSt(0, indefinite());
      return this.raise(null);
    }
    this.writeResult(0, fscale(this.env, this.st(0), this.st(1)), 0);
  }

  private dbMem(reg: number, seg: number, off: number): void {
    switch (reg) {
      case 0: return this.fildInt(this.host.readU32(seg, off) | 0);
      case 2: return this.storeInt(seg, off, 4, false);
      case 3: return this.storeInt(seg, off, 4, true);
      case 5: return this.pushValue(readF80(this.host, seg, off));
      case 7: return this.storeExtended(seg, off);
    }
  }

  private dbReg(modrm: number): void {
    const reg = (modrm >> 3) & 7;
    const i = modrm & 7;
    if (reg < 4) return this.fcmov(reg, true, i);
    switch (modrm) {
      case 0xe2: // FNCLEX
        this.sw &= ~(0x00ff | SW_B);
        return;
      case 0xe3: return this.reset();
      case 0xe0: case 0xe1: case 0xe4: return; // FENI, FDISI, FSETPM: no-ops on 387+
    }
    if (reg === 5) return this.compareEflags(i, true, false);
    if (reg === 6) return this.compareEflags(i, false, false);
  }

  private ddMem(reg: number, seg: number, off: number, o32: boolean): void {
    switch (reg) {
      case 0: return this.fldM64(seg, off);
      case 2: return this.storeReal(seg, off, 8, false);
      case 3: return this.storeReal(seg, off, 8, true);
      case 4: return this.frstor(seg, off, o32);
      case 6: return this.fnsave(seg, off, o32);
      case 7: return this.host.writeU16(seg, off, this.readStatusWord());
    }
  }

  private ddReg(reg: number, i: number): void {
    switch (reg) {
      case 0: // FFREE
        this.emptyMask |= 1 << this.phys(i);
        return;
      case 1: return this.fxch(i);
      case 2: return this.storeReg(i, false);
      case 3: return this.storeReg(i, true);
      case 4: return this.compareOp(i, true, 0);
      case 5: return this.compareOp(i, true, 1);
    }
  }

  private dfMem(reg: number, seg: number, off: number): void {
    switch (reg) {
      case 0: return this.fildInt((this.host.readU16(seg, off) << 16) >> 16);
      case 2: return this.storeInt(seg, off, 2, false);
      case 3: return this.storeInt(seg, off, 2, true);
      case 4: {
        const bytes = new Uint8Array(10);
        for (let k = 0; k < 10; k++) bytes[k] = this.host.readU8(seg, off + k);
        return this.pushValue(fromBCD(bytes));
      }
      case 5: return this.pushValue(fromInteger(BigInt.asIntN(64, readU64(this.host, seg, off))));
      case 6: return this.storeBCD(seg, off);
      case 7: return this.storeInt(seg, off, 8, true);
    }
  }

  private dfReg(reg: number, i: number): void {
    switch (reg) {
      case 0: // FFREEP
        this.emptyMask |= 1 << this.phys(i);
        this.pop();
        return;
      case 1: return this.fxch(i);
      case 2: case 3: return this.storeReg(i, true);
      case 4: return; // FNSTSW AX: performed by the CPU through readStatusWord()
      case 5: return this.compareEflags(i, true, true);
      case 6: return this.compareEflags(i, false, true);
    }
  }

  // ---- environment -------------------------------------------------------------

  private fnstenv(seg: number, off: number, o32: boolean): void {
    this.host.probeWrite(seg, off, envSize(o32));
    storeEnvironment(this.host, seg, off, o32, this.environment());
    this.cw |= 0x3f;
    this.updateES();
  }

  private applyEnvironment(e: X87Environment): void {
    this.cw = e.cw;
    this.setStatusWordFrom(e.sw);
    this.setTagWord(e.tw);
    this.fip = e.fip;
    this.fcs = e.fcs;
    this.fop = e.fop;
    this.fdp = e.fdp;
    this.fds = e.fds;
    this.updateES();
  }

  private fldenv(seg: number, off: number, o32: boolean): void {
    this.host.probeRead(seg, off, envSize(o32));
    this.applyEnvironment(loadEnvironment(this.host, seg, off, o32));
  }

  private fnsave(seg: number, off: number, o32: boolean): void {
    const size = envSize(o32);
    this.host.probeWrite(seg, off, size + 80);
    storeEnvironment(this.host, seg, off, o32, this.environment());
    for (let k = 0; k < 8; k++) writeF80(this.host, seg, off + size + 10 * k, this.st(k));
    this.reset();
  }

  private frstor(seg: number, off: number, o32: boolean): void {
    const size = envSize(o32);
    this.host.probeRead(seg, off, size + 80);
    const e = loadEnvironment(this.host, seg, off, o32);
    const regs: F80[] = [];
    for (let k = 0; k < 8; k++) regs.push(readF80(this.host, seg, off + size + 10 * k));
    this.applyEnvironment(e);
    for (let k = 0; k < 8; k++) this.setRaw(this.phys(k), regs[k]!);
  }
}

