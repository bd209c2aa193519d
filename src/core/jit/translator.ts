/**
 * Translates a decoded basic block (block-decoder.ts) into one WebAssembly
 * function `(budget: i32) -> i32 retired`.
 *
 * Conventions of the generated code:
 *  - Guest registers live in wasm locals for the whole call: loaded from the
 *    state frame at entry, stored back on every exit and before every slow
 *    path call (a slow path may throw a guest fault, and the fault handler
 *    then finds precise registers in the state frame).
 *  - Lazy flags work as in the interpreter (flags.ts): a flag-setting
 *    instruction writes lop/ldst/lsrc/lres/lsz/lcin locals; a consumer
 *    (Jcc, SETcc, CMOVcc, INC/DEC's carry) is compiled knowing statically
 *    which instruction set the flags, so `cmp; jcc` becomes one compare. A
 *    consumer with no producer earlier in the block reads the EFLAGS image
 *    the dispatcher materialised into the state frame.
 *  - Memory accesses inline the software-TLB hit path (tag compare, host
 *    address = linear + delta); misses, page-crossing accesses and MMIO call
 *    the interpreter's accessors (imports), which walk page tables, raise
 *    #PF, and update A/D bits exactly as the interpreter would.
 *  - An instruction changes registers and flags only after its last memory
 *    access, so a faulting access leaves the previous instruction's state.
 *  - A block that jumps back to its own start loops inside the function
 *    while the instruction budget allows another full iteration.
 */
import { F_IF, F_RF, F_VM, S_DS, S_FS, S_GS, S_SS } from '../cpu/constants.ts';
import { FunctionBody, Op } from './wasm-emitter.ts';
import { emitPageTag, emitTlbSlot, tlbSlotOffset } from './tlb-emit.ts';
import { X87Helper, planX87 } from './x87-emit.ts';
import { BlockEnd, blockWeight, crossMask, pcThunkWord, pltWord, type Insn } from './block-decoder.ts';
import {
  ST_REGS, ST_EIP, ST_LOP, ST_LDST, ST_LSRC, ST_LRES, ST_LSZ, ST_LCIN, ST_FLAGS, ST_TLBKEY, ST_EXIT_REQ, ST_GS_BASE, ST_GS_OK, ST_SEGSEL,
  ST_INT_LINE, ST_SYS_OUT, ST_REGION_BASE, SITE_DONE_BITS, SITE_DONE_MASK, packSite,
} from './layout.ts';

// Lazy-flag kinds (the interpreter's L_* values in flags.ts).
const L_ADD = 1;
const L_ADC = 2;
const L_SUB = 3;
const L_SBB = 4;
const L_LOGIC = 5;
const L_INC = 6;
const L_DEC = 7;
const L_RES = 8;

/** Imported slow paths, in import order (see jit.ts). */
export const enum Slow { Rd8 = 0, Rd16 = 1, Rd32 = 2, Wr8 = 3, Wr16 = 4, Wr32 = 5, Rmw8 = 6, Rmw32 = 7, Rmw16 = 8, X87 = 9, StrMove = 10, Sys = 11 }
/** Signatures of the imports: reads (lin, site, iter) -> value; writes (lin, value, site, iter) -> the exit request (ST_EXIT_REQ); x87, strMove and sys (see RegionTranslator), all ending in (site, iter) (RegionTranslator.slowArgs). */
export const enum SlowType { Read = 0, Write = 1, X87 = 2, StrMove = 3, Sys = 4 }
/**
 * What the `sys` import (SysOp | detail << 8, a, b, site, iter) -> i32 does:
 * system instructions of the kernel's system-call and context-switch paths,
 * run by the interpreter's code. SegLoad: MOV Sreg (detail: the register, a:
 * the selector), asking for an exit when the segment no longer suits the
 * region's mode. Rdtsc: returns EAX, EDX in ST_SYS_OUT. Cr3: MOV CR3, a (the
 * region leaves right after). Fx: FXSAVE/FXRSTOR (detail: ModRM | segment
 * << 8, a: the offset). Sysenter, Sysexit: CS, SS and the CPL as the
 * interpreter loads them, and the dispatcher's mode (ST_RUN_MODE) switched,
 * asking for an exit when the new mode is not one the JIT runs; Sysenter
 * returns ESP and leaves EIP in ST_SYS_OUT.
 */
export const enum SysOp { SegLoad = 0, Rdtsc = 1, Cr3 = 2, Fx = 3, Sysenter = 4, Sysexit = 5 }
/** What the strMove import returns: the instruction completed; a long REP did a chunk and continues at itself; it faulted (not retired: the interpreter runs it again from the registers it left). */
export const enum StrMoveResult { Done = 0, Chunk = 1, Restart = 2 }
export const SLOW_IMPORTS: { name: string; type: SlowType }[] = [
  { name: 'rd8', type: SlowType.Read }, { name: 'rd16', type: SlowType.Read }, { name: 'rd32', type: SlowType.Read },
  { name: 'wr8', type: SlowType.Write }, { name: 'wr16', type: SlowType.Write }, { name: 'wr32', type: SlowType.Write },
  { name: 'rmw8', type: SlowType.Read }, { name: 'rmw32', type: SlowType.Read }, { name: 'rmw16', type: SlowType.Read },
  { name: 'x87', type: SlowType.X87 },
  { name: 'strMove', type: SlowType.StrMove },
  { name: 'sys', type: SlowType.Sys },
];

/**
 * ST_EXIT_REQ value of a region that left because the code it was
 * translated from changed on another page (an instruction that crosses a
 * page end, Insn.cross): JS drops the region, which is compiled again from
 * the new bytes once hot. (1: stop after this instruction; 2: a guest fault.)
 */
export const EXIT_STALE = 3;

/** The strMove import's packed bit for the 16-bit forms (MOVSW, STOSW). */
export const STR_MOVE_O16 = 1 << 9;

/** EAX, ECX, ESI, EDI: the registers MOVS/STOS read or change, passed to the strMove import through the state frame. */
export const STRING_REGS = [0, 1, 6, 7] as const;

// Local variable indices.
const L_ENTRY = 0; // parameter: index of the block to start with
const L_BUDGET = 1; // parameter: most instructions this call may retire
const REG0 = 2; // 2..9: EAX..EDI
const L_ITER = 10; // instructions retired by completed blocks of this call
const LOC_LOP = 11;
const LOC_LDST = 12;
const LOC_LSRC = 13;
const LOC_LRES = 14;
const LOC_LSZ = 15;
const LOC_LCIN = 16;
const L_FLAGS = 17;
const L_KEY = 18;
const L_EXITF = 19;
const L_NEXT = 20;
const L_RETIRED = 21;
const L_LIN = 22;
const L_IDX = 23;
const L_STATE = 24;
const L_GSBASE = 25;
const L_GSOK = 26;
/** CF | OF << 11 of the last ROL/ROR while `pendingRotate` (see RegionTranslator.shift). */
const L_ROTF = 27;
const FIRST_TEMP = 28;
const PARAMS = 2;

/** Where the generated code finds its state frame and TLB arrays (host byte offsets in the pool). */
export interface TranslatorLayout {
  state: number;
  tlbRd: number;
  tlbWr: number;
  tlbDelta: number;
  /** Function index of the module's materialise-flags helper (see emitFlagsHelper). */
  flagsHelper: number;
  /** Function index of the first x87 helper (x87-emit.ts), or -1 when the module has none (every x87 instruction calls the import). */
  x87Helpers: number;
}

export interface Translation {
  body: FunctionBody;
  /** Locals beyond the parameters. */
  locals: number;
}

/**
 * Statically known state of the lazy flags: EAGER (the `flags` local is
 * current, lop local = 0), DYNAMIC (whatever the lazy locals say: at block
 * starts, which several paths reach), or the producing instruction's kind.
 */
const EAGER = -1;
const DYNAMIC = -2;
interface Producer { kind: number; sz: number }

/** A shift count: a constant, or the local that holds it. */
type ShiftCount = number | { local: number };

/** EFLAGS bits POPF writes at CPL 0: CF..OF, TF, IF, DF, IOPL, NT, AC, ID (cpu/eflags.ts); RF is cleared. */
const POPF_WRITABLE = 0x7fd5 | 0x40000 | 0x200000;
/** EFLAGS bits that always read as 0 (3, 5, 15, 22 and up). */
const EFLAGS_DEFINED = 0x3f7fd7;

const SIGN = [0x80, 0x8000, 0x80000000 | 0];
const MASK = [0xff, 0xffff, -1];
/** Bytes of an operand of size code sz (0 byte, 1 word, 2 dword). */
const BYTES = [1, 2, 4];

/**
 * Translate a region: several blocks of one code page into one function
 * `(entry: i32, budget: i32) -> i32 retired` that dispatches between them
 * with a br_table, so control stays in WebAssembly while it moves between
 * blocks of the region (loops, if/else diamonds). A transfer elsewhere, or
 * one the budget does not cover, returns to the dispatcher with ST_EIP set.
 */
export function translateRegion(blocks: Insn[][], layout: TranslatorLayout): Translation {
  return new RegionTranslator(blocks, layout).run();
}

class RegionTranslator {
  private readonly f = new FunctionBody();
  private open = 0;
  private producer: Producer = { kind: DYNAMIC, sz: 2 };
  /**
   * A ROL/ROR changed CF and OF since the producer: the flags are the
   * producer's with CF/OF from L_ROTF. Settled (folded into the image) only
   * where flags are read or the state leaves the block, so the rotates of a
   * hash function cost no flags work when the next ALU instruction
   * overwrites them anyway.
   */
  private pendingRotate = false;
  private written = 0;
  private temps = FIRST_TEMP;
  private maxTemps = FIRST_TEMP;
  private slowCalled = false;
  private index = 0;
  /** Instructions beyond one per Insn retired by the current block's earlier instructions (PC-thunk calls retire three). */
  private extra = 0;
  private insn!: Insn;
  /** Block index by start EIP. */
  private readonly byEip = new Map<number, number>();
  private depthExit = 0;
  private depthFault = 0;
  /** The block whose end decodes a packed exit (see checkExitRequest) into L_NEXT and L_RETIRED. */
  private depthPackedExit = 0;
  /** EIP that packed exits and slow-path sites count from: the first block's. */
  private readonly baseEip: number;
  /** EIPs right after this region's calls that have a block here (RET targets to try first). */
  private readonly returnSites: number[] = [];
  private depthDispatch = 0;
  /** Some instruction has a GS-relative memory operand (the entry loads GS's base and usability). */
  private usesGs = false;
  /** The instruction being translated follows an STI: interrupts are taken after it. */
  private afterSti = false;

  constructor(private readonly blocks: Insn[][], private readonly layout: TranslatorLayout) {
    this.baseEip = blocks[0]![0]!.eip;
    blocks.forEach((b, k) => {
      if (!this.byEip.has(b[0]!.eip)) this.byEip.set(b[0]!.eip, k);
      for (const i of b) {
        this.written |= writtenRegs(i);
        if (i.gs && i.mem) this.usesGs = true;
      }
    });
    for (const b of blocks) {
      const last = b[b.length - 1]!;
      const after = (last.eip + last.len) | 0;
      if ((last.end === BlockEnd.Call || last.end === BlockEnd.CallInd) && this.byEip.has(after) && this.returnSites.length < 8) this.returnSites.push(after);
    }
  }

  run(): Translation {
    const f = this.f;
    const st = this.layout.state;
    for (let r = 0; r < 8; r++) {
      f.i32(0);
      f.mem(Op.I32Load, 2, st + ST_REGS + r * 4);
      f.set(REG0 + r);
    }
    f.i32(0);
    f.mem(Op.I32Load, 2, st + ST_TLBKEY);
    f.set(L_KEY);
    f.i32(0);
    f.mem(Op.I32Load, 2, st + ST_FLAGS);
    f.set(L_FLAGS);
    // The lazy flags as the previous region left them (chained runs; JS enters with them folded, lop = 0).
    const lazy: [number, number][] = [[LOC_LOP, ST_LOP], [LOC_LDST, ST_LDST], [LOC_LSRC, ST_LSRC], [LOC_LRES, ST_LRES], [LOC_LSZ, ST_LSZ], [LOC_LCIN, ST_LCIN]];
    if (this.usesGs) lazy.push([L_GSBASE, ST_GS_BASE], [L_GSOK, ST_GS_OK]);
    for (const [local, off] of lazy) {
      f.i32(0);
      f.mem(Op.I32Load, 2, st + off);
      f.set(local);
    }
    f.i32(0);
    f.i32(this.baseEip);
    f.mem(Op.I32Store, 2, st + ST_REGION_BASE);
    f.get(L_ENTRY);
    f.set(L_STATE);
    f.block();
    this.open++;
    this.depthFault = this.open;
    f.block();
    this.open++;
    this.depthExit = this.open;
    f.blockI32();
    this.open++;
    this.depthPackedExit = this.open;
    f.loop();
    this.open++;
    this.depthDispatch = this.open;
    const n = this.blocks.length;
    for (let k = 0; k < n; k++) {
      f.block();
      this.open++;
    }
    f.get(L_STATE);
    f.byte(Op.BrTable);
    f.u32(n);
    for (let k = 0; k < n; k++) f.u32(k);
    f.u32(n - 1);
    for (let k = 0; k < n; k++) {
      f.end();
      this.open--;
      this.emitBlock(this.blocks[k]!);
    }
    f.end(); // loop
    this.open--;
    this.brExit(); // (every block ends in a branch; this keeps the block's result type valid)
    f.end(); // $packedExit
    this.open--;
    this.decodePackedExit();
    f.end(); // $exit
    this.open--;
    this.emitExitPath();
    f.op(Op.Return);
    f.end(); // $fault: a slow path raised a guest fault; state as before the faulting instruction
    this.open--;
    this.storeState();
    f.i32(-1);
    return { body: f, locals: this.maxTemps - PARAMS };
  }

  private emitBlock(insns: Insn[]): void {
    this.producer = { kind: DYNAMIC, sz: 2 };
    this.pendingRotate = false;
    this.extra = 0;
    for (this.index = 0; this.index < insns.length; this.index++) {
      this.insn = insns[this.index]!;
      this.temps = FIRST_TEMP;
      this.slowCalled = false;
      if (this.insn.cross !== 0) this.checkCrossingBytes(this.insn);
      if (this.insn.gs && this.insn.mem) this.checkGs();
      // STI's interrupt shadow ends after this instruction (block-decoder.ts stiFollower); RET checks before it leaves.
      this.afterSti = this.index > 0 && insns[this.index - 1]!.op === 0xfb;
      this.emitInsn(this.insn);
      if (this.afterSti && this.insn.op !== 0xc3 && this.insn.op !== 0x135) this.leaveIfInterruptible(false);
    }
    const last = insns[insns.length - 1]!;
    if (last.end === BlockEnd.None) {
      this.index = insns.length - 1;
      this.goTo((last.eip + last.len) | 0);
    }
  }

  /** Instructions of this block retired before the current instruction. */
  private retiredBefore(): number {
    return this.index + this.extra;
  }

  private tmp(): number {
    const t = this.temps++;
    if (this.temps > this.maxTemps) this.maxTemps = this.temps;
    return t;
  }

  private brExit(): void { this.f.br(this.open - this.depthExit); }
  private brDispatch(): void { this.f.br(this.open - this.depthDispatch); }

  // ------------------------------------------------------------------ exits

  private emitExitPath(): void {
    const f = this.f;
    const st = this.layout.state;
    this.storeState();
    f.i32(0);
    f.get(L_NEXT);
    f.mem(Op.I32Store, 2, st + ST_EIP);
    f.get(L_RETIRED);
  }

  /** Registers written by the region, flags image and lazy flags into the state frame. */
  private storeState(): void {
    const f = this.f;
    const st = this.layout.state;
    for (let r = 0; r < 8; r++) {
      if ((this.written & (1 << r)) === 0) continue;
      f.i32(0);
      f.get(REG0 + r);
      f.mem(Op.I32Store, 2, st + ST_REGS + r * 4);
    }
    const pairs: [number, number][] = [
      [LOC_LOP, ST_LOP], [LOC_LDST, ST_LDST], [LOC_LSRC, ST_LSRC], [LOC_LRES, ST_LRES], [LOC_LSZ, ST_LSZ], [LOC_LCIN, ST_LCIN],
      [L_FLAGS, ST_FLAGS],
    ];
    for (const [local, off] of pairs) {
      f.i32(0);
      f.get(local);
      f.mem(Op.I32Store, 2, st + off);
    }
  }

  /** Leave the region: continue at the EIP on the stack with `done` instructions of this block completed. */
  private exitStack(done: number): void {
    const f = this.f;
    this.settleRotateHere();
    f.set(L_NEXT);
    f.get(L_ITER);
    if (done !== 0) {
      f.i32(done);
      f.op(Op.I32Add);
    }
    f.set(L_RETIRED);
    this.brExit();
  }

  private exitConst(eip: number, done: number): void {
    this.f.i32(eip);
    this.exitStack(done);
  }

  /** Continue at `eip` after the current instruction: inside the region when it has a block there and the budget allows, else exit. */
  private goTo(eip: number): void {
    const f = this.f;
    const done = this.retiredBefore() + 1;
    const k = this.byEip.get(eip);
    if (k === undefined) {
      this.exitConst(eip, done);
      return;
    }
    this.settleRotateHere();
    const len = blockWeight(this.blocks[k]!);
    f.get(L_ITER);
    f.i32(done);
    f.op(Op.I32Add);
    f.tee(L_ITER);
    f.i32(len);
    f.op(Op.I32Add);
    f.get(L_BUDGET);
    f.op(Op.I32LeS);
    f.hint(true); // the budget usually covers the next block
    f.if();
    this.open++;
    f.i32(k);
    f.set(L_STATE);
    this.brDispatch();
    f.end();
    this.open--;
    f.i32(eip);
    f.set(L_NEXT);
    f.get(L_ITER);
    f.set(L_RETIRED);
    this.brExit();
  }

  /**
   * Continue at the address in local `v` (RET): compared with the return
   * sites of this region's calls (blocks that start right after a CALL), so
   * a call and its return stay inside WebAssembly; anything else exits.
   */
  private returnTo(v: number): void {
    const f = this.f;
    for (const eip of this.returnSites) {
      f.get(v);
      f.i32(eip);
      f.op(Op.I32Eq);
      f.if();
      this.open++;
      this.goTo(eip);
      f.end();
      this.open--;
    }
    f.get(v);
    this.exitStack(this.retiredBefore() + 1);
  }

  /**
   * After an instruction that called a slow path: stop if the slow path
   * asked for it. The exit is one constant carried by a br_if to the
   * region's shared $packedExit, which decodes it (decodePackedExit): 8
   * bytes per memory access instead of the 22 of an inline exit, emitted
   * after every instruction with a memory operand. The inline form remains
   * for what the packing cannot say (a pending rotate's flags to settle, a
   * far next EIP, a long block).
   */
  private checkExitRequest(): void {
    if (!this.slowCalled) return;
    const f = this.f;
    const done = this.retiredBefore() + 1;
    const packed = packSite((this.nextEip() - this.baseEip) | 0, done);
    if (!this.pendingRotate && packed !== undefined) {
      f.i32(packed);
      f.get(L_EXITF);
      f.hint(false);
      f.brIf(this.open - this.depthPackedExit);
      f.op(Op.Drop);
      return;
    }
    f.get(L_EXITF);
    f.if();
    this.open++;
    this.exitConst(this.nextEip(), done);
    f.end();
    this.open--;
  }

  /** The end of $packedExit: its constant (packSite(next EIP - base, done)) into L_NEXT and L_RETIRED. */
  private decodePackedExit(): void {
    const f = this.f;
    f.tee(L_NEXT);
    f.i32(SITE_DONE_MASK);
    f.op(Op.I32And);
    f.get(L_ITER);
    f.op(Op.I32Add);
    f.set(L_RETIRED);
    f.get(L_NEXT);
    f.i32(SITE_DONE_BITS);
    f.op(Op.I32ShrS);
    f.i32(this.baseEip);
    f.op(Op.I32Add);
    f.set(L_NEXT);
  }

  private nextEip(): number {
    return (this.insn.eip + this.insn.len) | 0;
  }

  // ------------------------------------------------------------------ registers

  private getReg(r: number): void { this.f.get(REG0 + r); }
  private setReg(r: number): void { this.f.set(REG0 + r); }

  private getReg8(r: number): void {
    const f = this.f;
    f.get(REG0 + (r & 3));
    if (r >= 4) {
      f.i32(8);
      f.op(Op.I32ShrU);
    }
    f.i32(0xff);
    f.op(Op.I32And);
  }

  /** Set 8-bit register `r` from local `v` (holding a value in 0..255). */
  private setReg8(r: number, v: number): void {
    const f = this.f;
    const full = REG0 + (r & 3);
    f.get(full);
    f.i32(r >= 4 ? ~0xff00 : ~0xff);
    f.op(Op.I32And);
    f.get(v);
    if (r >= 4) {
      f.i32(8);
      f.op(Op.I32Shl);
    }
    f.op(Op.I32Or);
    f.set(full);
  }

  /** Push register `r` of operand size sz (zero-extended). */
  private getRegSz(r: number, sz: number): void {
    if (sz === 0) { this.getReg8(r); return; }
    this.getReg(r);
    if (sz === 1) { this.f.i32(0xffff); this.f.op(Op.I32And); }
  }

  /** Set register `r` of operand size sz from local `v` (masked to the size); other bits of the register stay. */
  private setRegSz(r: number, v: number, sz: number): void {
    const f = this.f;
    if (sz === 0) { this.setReg8(r, v); return; }
    if (sz === 1) {
      this.getReg(r); f.i32(~0xffff); f.op(Op.I32And);
      f.get(v); f.op(Op.I32Or);
    } else {
      f.get(v);
    }
    this.setReg(r);
  }

  // ------------------------------------------------------------------ memory

  /** Before a GS-relative access: leave to the interpreter (which raises the right fault) unless GS is usable. */
  private checkGs(): void {
    const f = this.f;
    f.get(L_GSOK);
    f.op(Op.I32Eqz);
    f.if();
    this.open++;
    this.exitConst(this.insn.eip, this.retiredBefore());
    f.end();
    this.open--;
  }

  /** Push the effective address of the instruction's memory operand (GS's base added for a GS prefix). */
  private ea(i: Insn): void {
    this.eaNoSeg(i);
    if (i.gs && i.op !== 0x8d) { // LEA ignores segments
      this.f.get(L_GSBASE);
      this.f.op(Op.I32Add);
    }
  }

  /** The offset part of the effective address: base + index << scale + displacement. */
  private eaNoSeg(i: Insn): void {
    const f = this.f;
    let any = false;
    if (i.base >= 0) {
      f.get(REG0 + i.base);
      any = true;
    }
    if (i.index >= 0) {
      f.get(REG0 + i.index);
      if (i.scale !== 0) {
        f.i32(i.scale);
        f.op(Op.I32Shl);
      }
      if (any) f.op(Op.I32Add);
      any = true;
    }
    if (!any) {
      f.i32(i.disp);
    } else if (i.disp !== 0) {
      f.i32(i.disp);
      f.op(Op.I32Add);
    }
  }

  /**
   * The trailing arguments of every slow path: the instruction's site
   * (packSite: its EIP from ST_REGION_BASE, the instructions of its block
   * completed before it) and the instructions of completed blocks (L_ITER).
   * A region's blocks all start on one virtual page (jit.ts addEntry starts
   * a region over when its frame shows up at another address), so every
   * site fits.
   */
  private slowArgs(): void {
    const f = this.f;
    const site = packSite((this.insn.eip - this.baseEip) | 0, this.retiredBefore());
    if (site === undefined) throw new Error(`jit: instruction at ${(this.insn.eip >>> 0).toString(16)} too far from its region's first block at ${(this.baseEip >>> 0).toString(16)}`);
    f.i32(site);
    f.get(L_ITER);
    this.slowCalled = true;
  }

  /** Set ST_EXIT_REQ: 1 = JS must take over after this exit (the dispatcher does not chain on), EXIT_STALE = drop the region too. */
  private requestExit(value: number): void {
    this.f.i32(0);
    this.f.i32(value);
    this.f.mem(Op.I32Store, 2, this.layout.state + ST_EXIT_REQ);
  }

  /**
   * After a slow path: 2 = it raised a guest fault (leave through $fault), 1 = stop after this instruction.
   * `returned`: the slow path returned the request (the writes do), else it is read from the state frame.
   */
  private readExitRequest(returned = false): void {
    const f = this.f;
    if (!returned) {
      f.i32(0);
      f.mem(Op.I32Load, 2, this.layout.state + ST_EXIT_REQ);
    }
    f.tee(L_EXITF);
    f.i32(2);
    f.op(Op.I32Eq);
    f.hint(false);
    f.brIf(this.open - this.depthFault);
  }

  /**
   * TLB hit test for an access of `size` bytes at linear address local L_LIN
   * against the tag array at `tags`; leaves the test result on the stack and
   * the slot's byte offset in L_IDX. The tag is made from the access's last
   * byte and compared in the slot of its first, so one compare also rejects
   * an access that crosses into the next page (that page's tag never sits in
   * this slot; the epoch key lies above the 20 page bits).
   */
  private tlbHit(tags: number, size: number): void {
    const f = this.f;
    emitTlbSlot(f, L_LIN, L_IDX);
    f.mem(Op.I32Load, 2, tags);
    emitPageTag(f, L_LIN, () => f.get(L_KEY), size - 1);
    f.op(Op.I32Eq);
  }

  /**
   * On a TLB hit no slow path ran: say so, so the exit-request check after
   * the instruction tests a constant on this path instead of a value the
   * optimiser must carry through the whole region.
   */
  private noExitRequest(): void {
    this.f.i32(0);
    this.f.set(L_EXITF);
  }

  /** Host address of L_LIN after a hit. */
  private hostAddr(): void {
    const f = this.f;
    f.get(L_LIN);
    f.get(L_IDX);
    f.mem(Op.I32Load, 2, this.layout.tlbDelta);
    f.op(Op.I32Add);
  }

  /** Load `size` bytes (zero-extended) from the linear address on the stack; `rmw` probes for writing first. */
  private load(size: number, rmw = false): void {
    const f = this.f;
    f.set(L_LIN);
    this.tlbHit(rmw ? this.layout.tlbWr : this.layout.tlbRd, size);
    f.hint(true);
    f.ifI32();
    this.open++;
    this.noExitRequest();
    this.hostAddr();
    f.mem(size === 1 ? Op.I32Load8U : size === 2 ? Op.I32Load16U : Op.I32Load, 0, 0);
    f.else();
    this.settleRotateHere();
    f.get(L_LIN);
    this.slowArgs();
    f.call(rmw ? (size === 1 ? Slow.Rmw8 : size === 2 ? Slow.Rmw16 : Slow.Rmw32) : size === 1 ? Slow.Rd8 : size === 2 ? Slow.Rd16 : Slow.Rd32);
    this.readExitRequest();
    f.end();
    this.open--;
  }

  /** Store local `v` (`size` bytes) at linear address local `lin`. */
  private store(size: number, lin: number, v: number): void {
    const f = this.f;
    f.get(lin);
    f.set(L_LIN);
    this.tlbHit(this.layout.tlbWr, size);
    f.hint(true);
    f.if();
    this.open++;
    this.noExitRequest();
    this.hostAddr();
    f.get(v);
    f.mem(size === 1 ? Op.I32Store8 : size === 2 ? Op.I32Store16 : Op.I32Store, 0, 0);
    f.else();
    this.settleRotateHere();
    f.get(L_LIN);
    f.get(v);
    this.slowArgs();
    f.call(size === 1 ? Slow.Wr8 : size === 2 ? Slow.Wr16 : Slow.Wr32);
    this.readExitRequest(true);
    f.end();
    this.open--;
  }

  // ------------------------------------------------------------------ flags

  /** Record lazy flags from locals (a, b, r) of operand size sz. */
  private setFlags(kind: number, sz: number, a: number, b: number, r: number, cin = -1): void {
    const f = this.f;
    f.i32(kind);
    f.set(LOC_LOP);
    if (a >= 0) { f.get(a); f.set(LOC_LDST); }
    if (b >= 0) { f.get(b); f.set(LOC_LSRC); }
    f.get(r);
    f.set(LOC_LRES);
    f.i32(sz);
    f.set(LOC_LSZ);
    if (cin >= 0) { f.get(cin); f.set(LOC_LCIN); }
    this.producer = { kind, sz };
    this.pendingRotate = false;
  }

  /** Push the flags image with the lazy locals (and a pending rotate's CF/OF) folded in (the module's helper; works for any producer state). */
  private foldFlags(): void {
    const f = this.f;
    for (const l of [LOC_LOP, LOC_LDST, LOC_LSRC, LOC_LRES, LOC_LSZ, LOC_LCIN, L_FLAGS]) f.get(l);
    f.call(this.layout.flagsHelper);
    if (this.pendingRotate) {
      f.i32(~0x801); f.op(Op.I32And);
      f.get(L_ROTF); f.op(Op.I32Or);
    }
  }

  /**
   * Before reading flags whose producer is not known here (or CF/OF after a
   * rotate): fold the lazy locals into the flags image (the module's
   * helper), lop = 0.
   */
  private knowFlags(): void {
    if (this.producer.kind === DYNAMIC || this.pendingRotate) this.foldIntoImage();
  }

  /**
   * Make the flags image local complete whatever produced the flags (lop =
   * 0), for code that hands EFLAGS to the interpreter's side and takes them
   * back: knowFlags leaves a statically known producer lazy.
   */
  private eagerFlags(): void {
    if (this.producer.kind !== EAGER || this.pendingRotate) this.foldIntoImage();
  }

  /** Fold the lazy locals (and a pending rotate) into the flags image local: lop = 0, producer EAGER. */
  private foldIntoImage(): void {
    const f = this.f;
    this.foldFlags();
    f.set(L_FLAGS);
    f.i32(0);
    f.set(LOC_LOP);
    this.producer = { kind: EAGER, sz: 2 };
    this.pendingRotate = false;
  }

  /**
   * Settle a pending rotate on one path only (a slow path, an exit): the
   * locals then hold the complete flags, while the translator's static view
   * stays as it was for the code after the branch. Both views describe the
   * same flags: the settled image has lop = 0, which the helper returns as is.
   */
  private settleRotateHere(): void {
    if (!this.pendingRotate) return;
    const producer = this.producer;
    this.knowFlags();
    this.producer = producer;
    this.pendingRotate = true;
  }

  /** Push CF (0/1). */
  private cf(): void {
    if (this.producer.kind === DYNAMIC && !this.pendingRotate) {
      this.dynamicCf();
      return;
    }
    this.knowFlags();
    const f = this.f;
    const p = this.producer;
    if (p.kind === EAGER) { f.get(L_FLAGS); f.i32(1); f.op(Op.I32And); return; }
    switch (p.kind) {
      case L_ADD: f.get(LOC_LRES); f.get(LOC_LDST); f.op(Op.I32LtU); return;
      case L_SUB: f.get(LOC_LDST); f.get(LOC_LSRC); f.op(Op.I32LtU); return;
      case L_ADC: // res < dst, or res == dst with a carry in
        f.get(LOC_LRES); f.get(LOC_LDST); f.op(Op.I32LtU);
        f.get(LOC_LCIN); f.get(LOC_LRES); f.get(LOC_LDST); f.op(Op.I32Eq); f.op(Op.I32And);
        f.op(Op.I32Or);
        return;
      case L_SBB: // dst < src, or dst == src with a borrow in
        f.get(LOC_LDST); f.get(LOC_LSRC); f.op(Op.I32LtU);
        f.get(LOC_LCIN); f.get(LOC_LDST); f.get(LOC_LSRC); f.op(Op.I32Eq); f.op(Op.I32And);
        f.op(Op.I32Or);
        return;
      case L_LOGIC: f.i32(0); return;
      case L_INC: case L_DEC: f.get(LOC_LCIN); return;
      default: f.get(LOC_LCIN); f.i32(1); f.op(Op.I32And); return;
    }
  }

  /**
   * CF where an earlier block produced the flags, without folding them: the
   * common producers inline (image, SUB/CMP, logic, ADD, INC/DEC), the
   * module's helper for the rest. Blocks that start with INC/DEC, ADC/SBB
   * or a JB/JAE used to call the helper for the whole image every time.
   */
  private dynamicCf(): void {
    const f = this.f;
    const isLop = (kind: number): void => { f.get(LOC_LOP); f.i32(kind); f.op(Op.I32Eq); };
    const nest = (test: () => void, then: () => void): void => {
      test();
      f.ifI32();
      this.open++;
      then();
      f.else();
    };
    nest(() => { f.get(LOC_LOP); f.op(Op.I32Eqz); }, () => { f.get(L_FLAGS); f.i32(1); f.op(Op.I32And); });
    nest(() => isLop(L_SUB), () => { f.get(LOC_LDST); f.get(LOC_LSRC); f.op(Op.I32LtU); });
    nest(() => isLop(L_LOGIC), () => f.i32(0));
    nest(() => isLop(L_ADD), () => { f.get(LOC_LRES); f.get(LOC_LDST); f.op(Op.I32LtU); });
    nest(() => { isLop(L_INC); isLop(L_DEC); f.op(Op.I32Or); }, () => f.get(LOC_LCIN));
    this.foldFlags();
    f.i32(1);
    f.op(Op.I32And);
    for (let k = 0; k < 5; k++) {
      f.end();
      this.open--;
    }
  }

  /** ZF (base 2) or SF (base 4) where an earlier block produced the flags: from the image when lop = 0, else from the result, as the helper computes them. */
  private dynamicZfSf(base: number): void {
    const f = this.f;
    this.flagBit(base === 2 ? 6 : 7);
    if (base === 2) {
      f.get(LOC_LRES);
      f.op(Op.I32Eqz);
    } else {
      // sign bit of the operand size: 1 << ((8 << lsz) - 1)
      f.get(LOC_LRES);
      f.i32(1);
      f.i32(8);
      f.get(LOC_LSZ);
      f.op(Op.I32Shl);
      f.i32(1);
      f.op(Op.I32Sub);
      f.op(Op.I32Shl);
      f.op(Op.I32And);
      f.i32(0);
      f.op(Op.I32Ne);
    }
    f.get(LOC_LOP);
    f.op(Op.I32Eqz);
    f.op(Op.Select);
  }

  private zf(): void {
    const f = this.f;
    if (this.producer.kind === EAGER) { this.flagBit(6); return; }
    f.get(LOC_LRES);
    f.op(Op.I32Eqz);
  }

  private sf(): void {
    const f = this.f;
    const p = this.producer;
    if (p.kind === EAGER) { this.flagBit(7); return; }
    f.get(LOC_LRES);
    f.i32(SIGN[p.sz]!);
    f.op(Op.I32And);
    f.i32(0);
    f.op(Op.I32Ne);
  }

  private of(): void {
    const f = this.f;
    const p = this.producer;
    if (p.kind === EAGER) { this.flagBit(11); return; }
    switch (p.kind) {
      case L_ADD: case L_ADC: case L_INC:
        f.get(LOC_LDST); f.get(LOC_LRES); f.op(Op.I32Xor);
        f.get(LOC_LSRC); f.get(LOC_LRES); f.op(Op.I32Xor);
        break;
      case L_SUB: case L_SBB: case L_DEC:
        f.get(LOC_LDST); f.get(LOC_LSRC); f.op(Op.I32Xor);
        f.get(LOC_LDST); f.get(LOC_LRES); f.op(Op.I32Xor);
        break;
      case L_LOGIC: f.i32(0); return;
      default: f.get(LOC_LCIN); f.i32(1); f.op(Op.I32ShrU); f.i32(1); f.op(Op.I32And); return;
    }
    f.op(Op.I32And);
    f.i32(SIGN[p.sz]!);
    f.op(Op.I32And);
    f.i32(0);
    f.op(Op.I32Ne);
  }

  private pf(): void {
    const f = this.f;
    if (this.producer.kind === EAGER) { this.flagBit(2); return; }
    f.get(LOC_LRES);
    f.i32(0xff);
    f.op(Op.I32And);
    f.op(Op.I32Popcnt);
    f.i32(1);
    f.op(Op.I32And);
    f.op(Op.I32Eqz);
  }

  private flagBit(bit: number): void {
    const f = this.f;
    f.get(L_FLAGS);
    f.i32(bit);
    f.op(Op.I32ShrU);
    f.i32(1);
    f.op(Op.I32And);
  }

  /** Push condition cc (0..15) as 0/1. */
  private cond(cc: number): void {
    const f = this.f;
    const base = cc >> 1;
    if (this.producer.kind === DYNAMIC && !this.pendingRotate && (base === 1 || base === 2 || base === 4)) {
      // JB/JAE, JE/JNE, JS/JNS at block starts (the fall-through of a Jcc testing the same flags, loop heads).
      if (base === 1) this.dynamicCf();
      else this.dynamicZfSf(base);
      if ((cc & 1) !== 0) f.op(Op.I32Eqz);
      return;
    }
    this.knowFlags();
    const p = this.producer;
    if (p !== null && p.kind === L_SUB && (base === 1 || base === 3 || base === 6 || base === 7 || base === 2)) {
      // CMP/SUB followed by a condition: compare the operands directly.
      if (base === 2) {
        f.get(LOC_LDST); f.get(LOC_LSRC); f.op(Op.I32Eq);
      } else if (base === 1 || base === 3) {
        f.get(LOC_LDST); f.get(LOC_LSRC); f.op(base === 1 ? Op.I32LtU : Op.I32LeU);
      } else {
        this.signed(LOC_LDST, p.sz);
        this.signed(LOC_LSRC, p.sz);
        f.op(base === 6 ? Op.I32LtS : Op.I32LeS);
      }
    } else {
      switch (base) {
        case 0: this.of(); break;
        case 1: this.cf(); break;
        case 2: this.zf(); break;
        case 3: this.cf(); this.zf(); f.op(Op.I32Or); break;
        case 4: this.sf(); break;
        case 5: this.pf(); break;
        case 6: this.sf(); this.of(); f.op(Op.I32Xor); break;
        default: this.zf(); this.sf(); this.of(); f.op(Op.I32Xor); f.op(Op.I32Or); break;
      }
    }
    if ((cc & 1) !== 0) f.op(Op.I32Eqz);
  }

  private signed(local: number, sz: number): void {
    const f = this.f;
    f.get(local);
    if (sz === 0) f.op(Op.I32Extend8S);
    else if (sz === 1) f.op(Op.I32Extend16S);
  }

  // ------------------------------------------------------------------ instructions

  private emitInsn(i: Insn): void {
    const op = i.op;
    if (op < 0x40) {
      if ((op & 7) === 6) this.other(i); // PUSH Sreg
      else this.aluForm(i);
    }
    else if (op < 0x48) this.incDec(i.op & 7, 2, false, L_INC);
    else if (op < 0x50) this.incDec(i.op & 7, 2, false, L_DEC);
    else if (op < 0x58) this.push(() => this.getReg(op & 7));
    else if (op < 0x60) this.pop(op & 7);
    else if (op >= 0x70 && op <= 0x7f) this.jcc(i, op & 15);
    else if (op >= 0x180 && op <= 0x18f) this.jcc(i, op & 15);
    else if (op >= 0xb0 && op <= 0xb7) this.movR8Imm(i);
    else if (op >= 0xb8 && op <= 0xbf) { this.f.i32(i.imm); this.setReg(op & 7); }
    else if (op >= 0x140 && op <= 0x14f) this.cmov(i);
    else if (op >= 0x190 && op <= 0x19f) this.setcc(i);
    else if (op >= 0x1c8 && op <= 0x1cf) this.bswap(op & 7);
    else this.other(i);
    this.checkExitRequest();
  }

  private other(i: Insn): void {
    const f = this.f;
    switch (i.op) {
      case 0x68: case 0x6a: this.push(() => f.i32(i.imm)); return;
      case 0x69: case 0x6b: this.imul(i, true); return;
      case 0x1af: this.imul(i, false); return;
      case 0x80: this.aluImm(i, 0); return;
      case 0x81: case 0x83: this.aluImm(i, i.o16 ? 1 : 2); return;
      case 0x84: this.test(i, 0); return;
      case 0x85: this.test(i, i.o16 ? 1 : 2); return;
      case 0x87: this.xchg(i); return;
      case 0x8f: if (i.mem) this.popMem(i); else this.pop(i.rmReg); return;
      // PUSH Sreg (32-bit: the selector zero-extended, as the interpreter writes it) and MOV r32, Sreg.
      case 0x06: case 0x0e: case 0x16: case 0x1e: this.push(() => this.segSel(i.op >> 3)); return;
      case 0x1a0: this.push(() => this.segSel(S_FS)); return;
      case 0x1a8: this.push(() => this.segSel(S_GS)); return;
      case 0x8c: this.segSel(i.reg); this.setReg(i.rmReg); return;
      case 0x88: this.movStore(i, 0); return;
      case 0x89: this.movStore(i, i.o16 ? 1 : 2); return;
      case 0x8a: this.movLoad(i, 0); return;
      case 0x8b: this.movLoad(i, i.o16 ? 1 : 2); return;
      case 0x8d: this.ea(i); this.setReg(i.reg); return;
      case 0x90: return;
      case 0x91: case 0x92: case 0x93: case 0x94: case 0x95: case 0x96: case 0x97: { // XCHG EAX, r32
        const t = this.tmp();
        this.getReg(0); f.set(t);
        this.getReg(i.op & 7); this.setReg(0);
        f.get(t); this.setReg(i.op & 7);
        return;
      }
      case 0x98: this.getReg(0); f.op(Op.I32Extend16S); this.setReg(0); return;
      case 0x9c: // PUSHF: the image with the lazy flags folded in, bit 1 set, VM and RF clear
        this.push(() => { this.foldFlags(); f.i32(2); f.op(Op.I32Or); f.i32(~0x30000); f.op(Op.I32And); });
        return;
      case 0xfa: this.setFlagBits(~0x200, 0); return; // CLI (CPL 0 only: block-decoder.ts)
      case 0xfb: this.setFlagBits(~0, 0x200); return; // STI (CPL 0 only; the next instruction checks for interrupts)
      case 0x9d: this.popf(); return;
      case 0x8e: this.movSreg(i); return;
      case 0x131: this.rdtsc(); return;
      case 0x122: this.movCr3(i); return;
      case 0x134: this.sysenter(); return;
      case 0x135: this.sysexit(); return;
      case 0x1ae: this.fxsaveRestore(i); return;
      case 0x1c7: this.cmpxchg8b(i); return;
      case 0xfc: this.setFlagBits(~0x400, 0); return; // CLD
      case 0xfd: this.setFlagBits(~0, 0x400); return; // STD
      case 0x1a3: case 0x1ab: case 0x1b3: case 0x1bb: case 0x1ba: this.bitTest(i); return;
      case 0x1b1: this.cmpxchg(i); return;
      case 0x1a4: case 0x1a5: case 0x1ac: case 0x1ad: this.shiftDouble(i); return;
      case 0x99: this.getReg(0); f.i32(31); f.op(Op.I32ShrS); this.setReg(2); return;
      // MOV AL/EAX <-> moffs: the decoder gives them reg = 0 (AL/EAX) and a memory operand at the offset.
      case 0xa0: this.movLoad(i, 0); return;
      case 0xa1: this.movLoad(i, 2); return;
      case 0xa2: this.movStore(i, 0); return;
      case 0xa3: this.movStore(i, 2); return;
      case 0xa8: this.testImm(0, i.imm, 0); return;
      case 0xa9: this.testImm(0, i.imm, 2); return;
      case 0xc1: case 0xd1: this.shift(i); return;
      case 0xc0: case 0xd0: this.shift8(i); return;
      case 0xd3: this.shiftByCl(i); return;
      case 0xc3: {
        const v = this.popToTemp();
        if (this.afterSti) this.leaveIfInterruptible(false, v);
        this.returnTo(v);
        return;
      }
      case 0xc6: this.movImmStore(i, 0); return;
      case 0xc7: this.movImmStore(i, i.o16 ? 1 : 2); return;
      case 0xe8:
        if (i.thunk >= 0) { this.callPcThunk(i); return; }
        if (i.got !== -1) { this.callPlt(i); return; }
        this.push(() => f.i32(this.nextEip()));
        this.goTo(i.target);
        return;
      case 0xe9: case 0xeb: this.goTo(i.target); return;
      case 0xf6: this.testRmImm(i, 0); return;
      case 0xf7:
        if (i.reg === 0) this.testRmImm(i, 2);
        else if (i.reg >= 6) this.divWide(i, i.reg === 7);
        else if (i.reg >= 4) this.mulWide(i, i.reg === 5);
        else this.notNeg(i);
        return;
      case 0xfe: this.incDecRm(i, 0); return;
      case 0xff:
        if (i.reg <= 1) this.incDecRm(i, i.o16 ? 1 : 2);
        else if (i.reg === 6) this.push(() => this.readRm32(i));
        else {
          const t = this.tmp();
          this.readRm32(i);
          f.set(t);
          if (i.reg === 2) this.push(() => f.i32(this.nextEip()));
          f.get(t);
          this.exitStack(this.retiredBefore() + 1);
        }
        return;
      case 0x1b6: this.readRm8(i); this.setReg(i.reg); return;
      case 0x1b7: this.readRm16(i); this.setReg(i.reg); return;
      case 0x1be: this.readRm8(i); f.op(Op.I32Extend8S); this.setReg(i.reg); return;
      case 0x1bf: this.readRm16(i); f.op(Op.I32Extend16S); this.setReg(i.reg); return;
      case 0xa4: case 0xa5: case 0xaa: case 0xab: this.stringMove(i); return;
      case 0x9b: case 0xd8: case 0xd9: case 0xda: case 0xdb: case 0xdc: case 0xdd: case 0xde: case 0xdf: this.x87(i); return;
      default:
        throw new Error(`jit: no translation for opcode ${i.op.toString(16)}`);
    }
  }

  /**
   * x87 (D8-DF) and FWAIT. The common instructions (x87-emit.ts planX87)
   * call a helper of the module that runs them on the x87 state in the state
   * frame when the case is a simple one, and fall back to the import when the
   * helper declines (it then changed nothing) or the memory operand misses
   * the TLB; everything else calls the import. An exit and re-entry per
   * instruction made the JIT slower than the interpreter on x87 code, so
   * neither path ends the region.
   */
  private x87(i: Insn): void {
    const flagsIo = x87UsesEflags(i.op, i.modrm);
    if (flagsIo) this.eagerFlags();
    else this.settleRotateHere();
    const plan = this.layout.x87Helpers >= 0 && i.op !== 0x9b && !i.gs ? planX87(i.op, i.modrm) : null;
    if (plan === null) {
      this.x87Import(i, flagsIo);
      return;
    }
    const f = this.f;
    const helper = this.layout.x87Helpers + plan.helper;
    // The helper's arguments after the plan's own: eip, fop, and the memory operand's offset.
    const tail = (): void => {
      f.i32(i.eip);
      f.i32(((i.op & 7) << 8) | i.modrm);
      if (plan.mem !== 'none') f.get(L_LIN); // flat segments: the linear address is the offset
      else if (plan.fdp) f.i32(0); // no memory operand: the helper ignores fdp
    };
    const callHelper = (): void => {
      for (const a of plan.args) f.i32(a);
      tail();
      f.call(helper);
    };
    /** `cond ? body() : 0` for the i32 `cond` on the stack. */
    const orZero = (body: () => void): void => {
      f.hint(true);
      f.ifI32();
      this.open++;
      body();
      f.else();
      f.i32(0);
      f.end();
      this.open--;
    };
    let result = -1;
    if (plan.mem === 'none') {
      callHelper();
      if (plan.flags) {
        result = this.tmp();
        f.tee(result);
        f.i32(-1);
        f.op(Op.I32Ne);
      }
    } else {
      // The whole operand must hit the TLB (one page, readable or writable), else the import runs it.
      this.eaNoSeg(i);
      f.set(L_LIN);
      this.tlbHit(plan.mem === 'store' ? this.layout.tlbWr : this.layout.tlbRd, plan.size);
      orZero(() => {
        this.hostAddr();
        if (plan.mem === 'store') {
          callHelper(); // the host address is its first argument
          return;
        }
        f.i32(plan.kind);
        f.call(this.layout.x87Helpers + X87Helper.LoadMem);
        orZero(callHelper);
      });
    }
    f.hint(true); // the helper took the case
    f.if();
    this.open++;
    if (plan.flags) {
      // FCOMI/FUCOMI: ZF, PF, CF from the compare; OF, SF, AF cleared.
      f.get(L_FLAGS);
      f.i32(~0x8d5);
      f.op(Op.I32And);
      f.get(result);
      f.op(Op.I32Or);
      f.set(L_FLAGS);
    }
    this.noExitRequest();
    f.else();
    this.x87Import(i, flagsIo);
    f.end();
    this.open--;
  }

  /**
   * x87 (D8-DF) and FWAIT through the `x87` import: the interpreter's x87
   * unit runs the instruction (op | modrm << 8 | segment << 16, offset,
   * flags, site, iter) -> i32, so floating-point code stays inside the
   * region instead of ending it. The import does the CPU's checks (#NM,
   * #MF) and raises faults the way the memory slow paths do. FCMOVcc reads
   * and FCOMI/FUCOMI write EFLAGS: they get the folded flags image and
   * return the new one; FNSTSW AX returns the status word; everything else
   * touches no CPU register. The caller has folded the flags (`flagsIo`) or
   * settled a pending rotate.
   */
  private x87Import(i: Insn, flagsIo: boolean): void {
    const f = this.f;
    const op = i.op;
    const seg = i.gs ? S_GS : i.base === 4 || i.base === 5 ? S_SS : S_DS;
    f.i32(op === 0x9b ? op : op | (i.modrm << 8) | (seg << 16));
    if (i.mem) this.eaNoSeg(i);
    else f.i32(0);
    if (flagsIo) f.get(L_FLAGS);
    else f.i32(0);
    this.slowArgs();
    f.call(Slow.X87);
    this.readExitRequest();
    if (flagsIo) {
      f.set(L_FLAGS);
    } else if (op === 0xdf && i.modrm === 0xe0) {
      const t = this.tmp();
      f.set(t);
      this.getReg(0); f.i32(~0xffff); f.op(Op.I32And);
      f.get(t); f.op(Op.I32Or);
      this.setReg(0);
    } else {
      f.op(Op.Drop);
    }
  }

  /**
   * MOVS/STOS (byte, dword; with or without REP): the interpreter's string
   * code through the `strMove` import (op | rep << 8 | segment << 16, flags
   * for DF, site, iter), which takes EAX, ECX, ESI, EDI from the state frame
   * and leaves them there. A fault does not leave through the fault exit:
   * the iterations before it are done (registers advanced, memory written),
   * so the region exits at the instruction without retiring it and the
   * interpreter runs it again, which raises the fault with those registers.
   */
  /**
   * MOVS/STOS (byte or dword, REP or not): done here when the whole string
   * lies within one page on each side with TLB hits (read for the source,
   * write for the destination, so code pages, whose frames lose write
   * permission, still reach the import), DF = 0, no GS override, a REP count
   * of 1..4096/size, no overlap that makes a forward copy differ from
   * memory.copy, and for STOSD a fill byte repeated four times; else the
   * `strMove` import runs the interpreter's string code. busybox's memcpy
   * and memset are REP MOVS/STOS: the shell loop made 44 import calls per
   * iteration, sort 3.7 M per run.
   */
  private stringMove(i: Insn): void {
    if (i.gs || i.o16) {
      this.stringMoveImport(i);
      return;
    }
    const f = this.f;
    const movs = i.op === 0xa4 || i.op === 0xa5;
    const size = (i.op & 1) !== 0 ? 4 : 1;
    const n = this.tmp();
    const ok = this.tmp();
    const srcLin = this.tmp();
    const srcIdx = this.tmp();
    // n = bytes moved; ok = the count is in range and DF = 0
    if (i.rep) {
      this.getReg(1);
      f.i32(1);
      f.op(Op.I32Sub);
      f.i32(4096 / size);
      f.op(Op.I32LtU); // 1 <= ECX <= 4096 / size
      this.getReg(1);
      if (size === 4) { f.i32(2); f.op(Op.I32Shl); }
      f.set(n);
    } else {
      f.i32(1);
      f.i32(size);
      f.set(n);
    }
    f.get(L_FLAGS);
    f.i32(0x400);
    f.op(Op.I32And);
    f.op(Op.I32Eqz);
    f.op(Op.I32And);
    f.set(ok);
    this.getReg(7);
    f.set(L_LIN);
    f.get(ok);
    f.if();
    this.open++;
    this.rangeHit(this.layout.tlbWr, L_LIN, L_IDX, n);
    f.set(ok);
    if (movs) {
      this.getReg(6);
      f.set(srcLin);
      this.rangeHit(this.layout.tlbRd, srcLin, srcIdx, n);
      // A forward byte copy differs from memory.copy when the destination starts inside the source, after it.
      f.get(L_LIN); f.get(srcLin); f.op(Op.I32Eq);
      f.get(L_LIN); f.get(srcLin); f.op(Op.I32Sub); f.get(n); f.op(Op.I32GeU);
      f.op(Op.I32Or);
      f.op(Op.I32And);
      f.get(ok);
      f.op(Op.I32And);
      f.set(ok);
    } else if (size === 4) {
      this.getReg(0);
      this.getReg(0); f.i32(0xff); f.op(Op.I32And); f.i32(0x01010101); f.op(Op.I32Mul);
      f.op(Op.I32Eq);
      f.get(ok);
      f.op(Op.I32And);
      f.set(ok);
    }
    f.end();
    this.open--;
    f.get(ok);
    f.if();
    this.open++;
    this.noExitRequest();
    this.hostAddr(); // destination
    if (movs) {
      f.get(srcLin);
      f.get(srcIdx);
      f.mem(Op.I32Load, 2, this.layout.tlbDelta);
      f.op(Op.I32Add);
      f.get(n);
      f.byte(0xfc); f.u32(10); f.byte(0); f.byte(0); // memory.copy
      f.get(srcLin); f.get(n); f.op(Op.I32Add); this.setReg(6);
    } else {
      this.getReg(0);
      f.i32(0xff);
      f.op(Op.I32And);
      f.get(n);
      f.byte(0xfc); f.u32(11); f.byte(0); // memory.fill
    }
    f.get(L_LIN); f.get(n); f.op(Op.I32Add); this.setReg(7);
    if (i.rep) { f.i32(0); this.setReg(1); }
    f.else();
    this.stringMoveImport(i);
    f.end();
    this.open--;
  }

  /**
   * Push 1 when the `n` bytes (local) at linear address local `lin` are one
   * TLB hit in `tags`: the tag of the last byte compared in the slot of the
   * first (as tlbHit does for a constant size), so a range that runs into the
   * next page fails too. Leaves the slot's byte offset in local `idx`.
   */
  private rangeHit(tags: number, lin: number, idx: number, n: number): void {
    const f = this.f;
    emitTlbSlot(f, lin, idx);
    f.mem(Op.I32Load, 2, tags);
    f.get(lin);
    f.get(n);
    f.op(Op.I32Add);
    f.i32(1);
    f.op(Op.I32Sub);
    f.i32(12);
    f.op(Op.I32ShrU);
    f.get(L_KEY);
    f.op(Op.I32Or);
    f.op(Op.I32Eq);
  }

  /** MOVS/STOS through the `strMove` import (the interpreter's string code). */
  private stringMoveImport(i: Insn): void {
    const f = this.f;
    const st = this.layout.state;
    for (const r of STRING_REGS) {
      f.i32(0); f.get(REG0 + r); f.mem(Op.I32Store, 2, st + ST_REGS + r * 4);
    }
    this.settleRotateHere();
    f.i32(i.op | (i.rep ? 1 << 8 : 0) | (i.o16 ? STR_MOVE_O16 : 0) | ((i.gs ? S_GS : -1) << 16));
    f.get(L_FLAGS);
    this.slowArgs();
    f.call(Slow.StrMove);
    const res = this.tmp();
    f.set(res);
    for (const r of STRING_REGS) {
      if (r === 0) continue; // EAX is only read
      f.i32(0); f.mem(Op.I32Load, 2, st + ST_REGS + r * 4); this.setReg(r);
    }
    this.f.i32(0);
    this.f.mem(Op.I32Load, 2, st + ST_EXIT_REQ);
    f.set(L_EXITF);
    f.get(res);
    f.if();
    this.open++;
    f.get(res);
    f.i32(StrMoveResult.Chunk);
    f.op(Op.I32Eq);
    f.if();
    this.open++;
    this.exitConst(i.eip, this.retiredBefore() + 1);
    f.else();
    this.exitConst(i.eip, this.retiredBefore());
    f.end();
    this.open--;
    f.end();
    this.open--;
  }

  private bswap(reg: number): void {
    const f = this.f;
    const v = this.tmp();
    this.getReg(reg); f.set(v);
    f.get(v); f.i32(24); f.op(Op.I32Shl);
    f.get(v); f.i32(0xff00); f.op(Op.I32And); f.i32(8); f.op(Op.I32Shl); f.op(Op.I32Or);
    f.get(v); f.i32(8); f.op(Op.I32ShrU); f.i32(0xff00); f.op(Op.I32And); f.op(Op.I32Or);
    f.get(v); f.i32(24); f.op(Op.I32ShrU); f.op(Op.I32Or);
    this.setReg(reg);
  }

  /** Flags image = (image & and) | or, for bits outside the arithmetic ones (IF, DF). */
  private setFlagBits(and: number, or: number): void {
    const f = this.f;
    f.get(L_FLAGS);
    f.i32(and); f.op(Op.I32And);
    if (or !== 0) { f.i32(or); f.op(Op.I32Or); }
    f.set(L_FLAGS);
  }

  /** Set CF from local `cf` (0/1), every other flag as it was (what bitops.ts does for BT*): folds the lazy flags. */
  private setCarryOnly(cf: number): void {
    const f = this.f;
    this.foldFlags();
    f.i32(~1); f.op(Op.I32And);
    f.get(cf); f.op(Op.I32Or);
    f.set(L_FLAGS);
    f.i32(0); f.set(LOC_LOP);
    this.producer = { kind: EAGER, sz: 2 };
    this.pendingRotate = false;
  }

  /**
   * BT/BTS/BTR/BTC r/m32 with the bit offset in a register (0F A3/AB/B3/BB)
   * or an imm8 (0F BA /4-7). A register offset on a memory operand selects
   * the dword (offset >> 5) * 4 bytes away (the bit string may leave the operand).
   */
  private bitTest(i: Insn): void {
    const f = this.f;
    const kind = i.op === 0x1ba ? i.reg - 4 : (i.op >> 3) & 3;
    const bit = this.tmp();
    const v = this.tmp();
    const nv = this.tmp();
    const cf = this.tmp();
    const lin = this.tmp();
    if (i.op === 0x1ba) f.i32(i.imm & 31); else { this.getReg(i.reg); f.i32(31); f.op(Op.I32And); }
    f.set(bit);
    if (i.mem) {
      this.ea(i);
      if (i.op !== 0x1ba) { this.getReg(i.reg); f.i32(5); f.op(Op.I32ShrS); f.i32(2); f.op(Op.I32Shl); f.op(Op.I32Add); }
      f.set(lin);
      f.get(lin);
      this.load(4, kind !== 0);
    } else {
      this.getReg(i.rmReg);
    }
    f.set(v);
    f.get(v); f.get(bit); f.op(Op.I32ShrU); f.i32(1); f.op(Op.I32And); f.set(cf);
    if (kind !== 0) {
      f.get(v);
      f.i32(1); f.get(bit); f.op(Op.I32Shl);
      if (kind === 1) f.op(Op.I32Or);
      else if (kind === 2) { f.i32(-1); f.op(Op.I32Xor); f.op(Op.I32And); }
      else f.op(Op.I32Xor);
      f.set(nv);
      if (i.mem) this.store(4, lin, nv);
    }
    this.setCarryOnly(cf);
    if (kind !== 0 && !i.mem) { f.get(nv); this.setReg(i.rmReg); }
  }

  /** XCHG r/m32, r32 (a memory operand is probed for writing before anything changes). */
  private xchg(i: Insn): void {
    const f = this.f;
    const a = this.tmp();
    const b = this.tmp();
    const lin = this.tmp();
    this.getReg(i.reg); f.set(b);
    this.readRmw32(i, lin, a);
    if (i.mem) this.store(4, lin, b);
    else { f.get(b); this.setReg(i.rmReg); }
    f.get(a); this.setReg(i.reg);
  }

  // ------------------------------------------------------------------ system instructions

  /**
   * After an instruction that may have let interrupts in (the one after
   * STI, or POPF): leave for JS, which takes the interrupt at this boundary
   * as the interpreter would, when the interrupt line is raised and IF is
   * set (after STI it is), or (POPF) when TF is set, so the single-step trap
   * is armed by the interpreter's event check. The exit request keeps the
   * dispatcher from chaining on. `returnAddress`: a RET after STI leaves for
   * the address in that local (else: the next instruction).
   */
  private leaveIfInterruptible(popf: boolean, returnAddress = -1): void {
    const f = this.f;
    const st = this.layout.state;
    f.i32(0);
    f.mem(Op.I32Load, 2, st + ST_INT_LINE);
    if (popf) {
      f.get(L_FLAGS); f.i32(9); f.op(Op.I32ShrU); f.op(Op.I32And);
      f.get(L_FLAGS); f.i32(8); f.op(Op.I32ShrU); f.op(Op.I32Or);
      f.i32(1); f.op(Op.I32And);
    }
    f.if();
    this.open++;
    this.requestExit(1);
    if (returnAddress >= 0) f.get(returnAddress);
    else f.i32(this.nextEip());
    this.exitStack(this.retiredBefore() + 1);
    f.end();
    this.open--;
  }

  /**
   * POPF (32-bit, CPL 0: every flag POPF can change is writable; VM stays,
   * RF is cleared, as cpu/eflags.ts writeEflags does). JS keeps derived
   * state in step afterwards (jit.ts runBlock: AC, the event check).
   */
  private popf(): void {
    const f = this.f;
    const v = this.popToTemp();
    f.get(L_FLAGS); f.i32(~(POPF_WRITABLE | F_RF)); f.op(Op.I32And);
    f.get(v); f.i32(POPF_WRITABLE); f.op(Op.I32And);
    f.op(Op.I32Or);
    f.i32(2); f.op(Op.I32Or);
    f.i32(EFLAGS_DEFINED); f.op(Op.I32And);
    f.set(L_FLAGS);
    f.i32(0);
    f.set(LOC_LOP);
    this.producer = { kind: EAGER, sz: 2 };
    this.pendingRotate = false;
    this.leaveIfInterruptible(true);
  }

  /** Call the `sys` import (SysOp); its result is on the stack. A guest fault leaves through $fault. */
  private sysCall(op: SysOp, detail: number, a: () => void): void {
    const f = this.f;
    this.settleRotateHere();
    f.i32(op | (detail << 8));
    a();
    f.i32(0);
    this.slowArgs();
    f.call(Slow.Sys);
    this.readExitRequest();
  }

  /**
   * MOV DS/ES/FS/GS, r/m16: the interpreter loads the descriptor (checks,
   * accessed bit, hidden part) and updates the state frame's selector and
   * GS copies; if DS or ES no longer suits the region's mode it asks for an
   * exit after this instruction.
   */
  private movSreg(i: Insn): void {
    const f = this.f;
    const sel = this.tmp();
    this.readRm16(i);
    f.set(sel);
    this.sysCall(SysOp.SegLoad, i.reg, () => f.get(sel));
    f.op(Op.Drop);
    if (i.reg === S_GS && this.usesGs) {
      const st = this.layout.state;
      f.i32(0); f.mem(Op.I32Load, 2, st + ST_GS_BASE); f.set(L_GSBASE);
      f.i32(0); f.mem(Op.I32Load, 2, st + ST_GS_OK); f.set(L_GSOK);
    }
  }

  /** RDTSC: the interpreter's clock (the instruction count the import is told), EDX:EAX. */
  private rdtsc(): void {
    const f = this.f;
    this.sysCall(SysOp.Rdtsc, 0, () => f.i32(0));
    this.setReg(0);
    f.i32(0);
    f.mem(Op.I32Load, 2, this.layout.state + ST_SYS_OUT);
    this.setReg(2);
  }

  /**
   * MOV CR3, r32: a new TLB epoch, which this region holds in a local, so it
   * leaves right after (BlockEnd.Leave); the next region reads the new key.
   */
  private movCr3(i: Insn): void {
    this.sysCall(SysOp.Cr3, 3, () => this.getReg(i.rmReg));
    this.f.op(Op.Drop);
    this.exitConst(this.nextEip(), this.retiredBefore() + 1);
    this.slowCalled = false; // left already
  }

  /**
   * SYSENTER (user code): the import loads CS, SS and CPL 0 and switches the
   * dispatcher to the kernel's regions; here ESP and EIP come from the MSRs
   * (its result and ST_SYS_OUT) and IF, RF and VM are cleared in the image
   * the region carries. The chain goes on into the kernel's entry code
   * without a return to JS (sort: ~285,000 each way per run).
   */
  private sysenter(): void {
    const f = this.f;
    this.sysCall(SysOp.Sysenter, 0, () => f.i32(0));
    this.setReg(4);
    this.setFlagBits(~(F_IF | F_RF | F_VM), 0);
    f.i32(0);
    f.mem(Op.I32Load, 2, this.layout.state + ST_SYS_OUT);
    this.exitStack(this.retiredBefore() + 1);
    this.slowCalled = false; // left already
  }

  /**
   * SYSEXIT (kernel): back to user code at EDX with ESP = ECX, the import
   * having loaded CS, SS and CPL 3. Linux runs it right after STI: the
   * interrupt that STI lets in is taken after SYSEXIT, at the user address,
   * so this leaves for JS there when the line is raised.
   */
  private sysexit(): void {
    const f = this.f;
    this.sysCall(SysOp.Sysexit, 0, () => f.i32(0));
    f.op(Op.Drop);
    const target = this.tmp();
    this.getReg(2); f.set(target);
    this.getReg(1); this.setReg(4);
    if (this.afterSti) this.leaveIfInterruptible(false, target);
    f.get(target);
    this.exitStack(this.retiredBefore() + 1);
    this.slowCalled = false; // left already
  }

  /** FXSAVE/FXRSTOR m512 (the interpreter's x87 unit: the state block is the one the x87 helpers use). */
  private fxsaveRestore(i: Insn): void {
    const seg = i.base === 4 || i.base === 5 ? S_SS : S_DS;
    this.sysCall(SysOp.Fx, i.modrm | (seg << 8), () => this.eaNoSeg(i));
    this.f.op(Op.Drop);
  }

  /**
   * CMPXCHG8B m64 (bitops.ts): equal to EDX:EAX: the operand = ECX:EBX,
   * ZF = 1; else EDX:EAX = the operand (written back unchanged, as the
   * locked cycle does), ZF = 0; other flags unchanged. Only when all 8 bytes
   * hit one page in the write TLB; otherwise the block leaves before the
   * instruction and the interpreter runs it (walk, fault, a code page).
   */
  private cmpxchg8b(i: Insn): void {
    const f = this.f;
    const h = this.tmp();
    const lo = this.tmp();
    const hi = this.tmp();
    const eq = this.tmp();
    this.ea(i);
    f.set(L_LIN);
    this.tlbHit(this.layout.tlbWr, 8);
    f.op(Op.I32Eqz);
    f.hint(false);
    f.if();
    this.open++;
    this.exitConst(i.eip, this.retiredBefore());
    f.end();
    this.open--;
    this.hostAddr(); f.set(h);
    f.get(h); f.mem(Op.I32Load, 0, 0); f.set(lo);
    f.get(h); f.mem(Op.I32Load, 0, 4); f.set(hi);
    f.get(lo); this.getReg(0); f.op(Op.I32Eq);
    f.get(hi); this.getReg(2); f.op(Op.I32Eq);
    f.op(Op.I32And); f.set(eq);
    f.get(h); this.getReg(3); f.get(lo); f.get(eq); f.op(Op.Select); f.mem(Op.I32Store, 0, 0);
    f.get(h); this.getReg(1); f.get(hi); f.get(eq); f.op(Op.Select); f.mem(Op.I32Store, 0, 4);
    this.getReg(0); f.get(lo); f.get(eq); f.op(Op.Select); this.setReg(0);
    this.getReg(2); f.get(hi); f.get(eq); f.op(Op.Select); this.setReg(2);
    this.eagerFlags();
    f.get(L_FLAGS); f.i32(~0x40); f.op(Op.I32And);
    f.get(eq); f.i32(6); f.op(Op.I32Shl); f.op(Op.I32Or);
    f.set(L_FLAGS);
  }

  /**
   * CMPXCHG r/m32, r32 (bitops.ts): flags of CMP EAX, dest; equal: dest =
   * src, else EAX = dest. A memory destination is written either way.
   */
  private cmpxchg(i: Insn): void {
    const f = this.f;
    const dest = this.tmp();
    const acc = this.tmp();
    const src = this.tmp();
    const nv = this.tmp();
    const r = this.tmp();
    const lin = this.tmp();
    this.getReg(i.reg); f.set(src);
    this.getReg(0); f.set(acc);
    this.readRmw32(i, lin, dest);
    f.get(src); f.get(dest); f.get(acc); f.get(dest); f.op(Op.I32Eq); f.op(Op.Select); f.set(nv);
    if (i.mem) this.store(4, lin, nv);
    f.get(acc); f.get(dest); f.op(Op.I32Sub); f.set(r);
    this.setFlags(L_SUB, 2, acc, dest, r);
    if (!i.mem) { f.get(nv); this.setReg(i.rmReg); }
    // Not equal: EAX = dest. Equal: EAX stays (it is the destination itself for CMPXCHG EAX, r32).
    f.get(dest); this.getReg(0); f.get(acc); f.get(dest); f.op(Op.I32Ne); f.op(Op.Select);
    this.setReg(0);
  }

  /**
   * DIV/IDIV r/m32 (F7 /6, /7): EAX = EDX:EAX / r/m32, EDX = the remainder
   * (truncated toward zero; the remainder takes the dividend's sign); flags
   * unchanged (muldiv.ts). A
   * divisor of 0, a quotient that does not fit, and for IDIV a divisor of -1
   * (whose quotient i64.div_s could trap on) leave before the instruction:
   * the interpreter then raises #DE or divides.
   */
  private divWide(i: Insn, signed: boolean): void {
    const f = this.f;
    const d = this.tmp();
    const q = this.tmp();
    this.readRm32(i);
    f.set(d);
    // The operands as i64: EDX << 32 | EAX, and the divisor extended by the instruction's signedness.
    const dividend = (): void => {
      this.getReg(2); f.op(Op.I64ExtendI32U); f.i64(32n); f.op(Op.I64Shl);
      this.getReg(0); f.op(Op.I64ExtendI32U); f.op(Op.I64Or);
    };
    const divisor = (): void => { f.get(d); f.op(signed ? Op.I64ExtendI32S : Op.I64ExtendI32U); };
    if (signed) {
      // |d| >= 2, so i64.div_s cannot trap; the quotient must lie in [-2^31, 2^31).
      f.get(d); f.i32(1); f.op(Op.I32Add); f.i32(2); f.op(Op.I32LtU); // d is 0 or -1
      f.if();
      this.open++;
      this.exitConst(i.eip, this.retiredBefore());
      f.end();
      this.open--;
      dividend(); divisor(); f.op(Op.I64DivS);
      f.i64(0x80000000n); f.op(Op.I64Add);
      f.i64(0x100000000n); f.op(Op.I64GeU);
    } else {
      f.get(d); f.op(Op.I32Eqz);
      this.getReg(2); f.get(d); f.op(Op.I32GeU);
      f.op(Op.I32Or);
    }
    f.if();
    this.open++;
    this.exitConst(i.eip, this.retiredBefore());
    f.end();
    this.open--;
    dividend(); divisor(); f.op(signed ? Op.I64DivS : Op.I64DivU); f.op(Op.I32WrapI64); f.set(q);
    dividend(); divisor(); f.op(signed ? Op.I64RemS : Op.I64RemU); f.op(Op.I32WrapI64);
    this.setReg(2);
    f.get(q); this.setReg(0);
  }

  /** MUL/IMUL r/m32 (F7 /4, /5): EDX:EAX = EAX * r/m32; CF = OF = the high half is significant (muldiv.ts). */
  private mulWide(i: Insn, signed: boolean): void {
    const f = this.f;
    const a = this.tmp();
    const lo = this.tmp();
    const hi = this.tmp();
    const cin = this.tmp();
    const ext = signed ? Op.I64ExtendI32S : Op.I64ExtendI32U;
    this.readRm32(i);
    f.set(a);
    this.getReg(0); f.get(a); f.op(Op.I32Mul); f.set(lo);
    // The high half of the 64-bit product (locals are i32 only, so the product is formed once more).
    this.getReg(0); f.op(ext); f.get(a); f.op(ext); f.op(Op.I64Mul);
    f.byte(Op.I64Const); f.s32(32); f.op(Op.I64ShrU); f.op(Op.I32WrapI64); f.set(hi);
    f.get(hi);
    if (signed) { f.get(lo); f.i32(31); f.op(Op.I32ShrS); } else f.i32(0);
    f.op(Op.I32Ne);
    f.i32(3); f.op(Op.I32Mul); f.set(cin); // cf | of << 1
    this.setFlags(L_RES, 2, -1, -1, lo, cin);
    f.get(lo); this.setReg(0);
    f.get(hi); this.setReg(2);
  }

  private readRm32(i: Insn): void {
    if (i.mem) { this.ea(i); this.load(4); } else this.getReg(i.rmReg);
  }

  private readRm8(i: Insn): void {
    if (i.mem) { this.ea(i); this.load(1); } else this.getReg8(i.rmReg);
  }

  private readRm16(i: Insn): void {
    if (i.mem) { this.ea(i); this.load(2); } else { this.getReg(i.rmReg); this.f.i32(0xffff); this.f.op(Op.I32And); }
  }

  private readRmSz(i: Insn, sz: number): void {
    if (sz === 0) this.readRm8(i);
    else if (sz === 1) this.readRm16(i);
    else this.readRm32(i);
  }

  /** Compute `a OP b` for ALU kind k (values masked to sz; `cin`: the carry local of ADC/SBB), result on the stack. */
  private aluValue(k: number, sz: number, a: number, b: number, cin: number): void {
    const f = this.f;
    f.get(a);
    f.get(b);
    switch (k) {
      case 0: f.op(Op.I32Add); break;
      case 1: f.op(Op.I32Or); return;
      case 2: f.op(Op.I32Add); f.get(cin); f.op(Op.I32Add); break;
      case 3: f.op(Op.I32Sub); f.get(cin); f.op(Op.I32Sub); break;
      case 4: f.op(Op.I32And); return;
      case 6: f.op(Op.I32Xor); return;
      default: f.op(Op.I32Sub); break; // SUB, CMP
    }
    if (sz !== 2) { f.i32(MASK[sz]!); f.op(Op.I32And); }
  }

  private aluKind(k: number): number {
    return k === 0 ? L_ADD : k === 2 ? L_ADC : k === 3 ? L_SBB : k === 5 || k === 7 ? L_SUB : L_LOGIC;
  }

  /**
   * ALU op kind k on destination (register or memory) with source in local b.
   * `dstIsRm`: the r/m operand is the destination; else the reg field is.
   */
  private alu(i: Insn, k: number, sz: number, dstIsRm: boolean, b: number): void {
    const f = this.f;
    const a = this.tmp();
    const r = this.tmp();
    let cin = -1;
    if (k === 2 || k === 3) { // ADC/SBB: the carry in, before anything changes the flags
      cin = this.tmp();
      this.cf();
      f.set(cin);
    }
    if (dstIsRm && i.mem) {
      const lin = this.tmp();
      this.ea(i);
      f.set(lin);
      f.get(lin);
      this.load(BYTES[sz]!, k !== 7);
      f.set(a);
      this.aluValue(k, sz, a, b, cin);
      f.set(r);
      if (k !== 7) this.store(BYTES[sz]!, lin, r);
      this.setFlags(this.aluKind(k), sz, a, b, r, cin);
      return;
    }
    const dreg = dstIsRm ? i.rmReg : i.reg;
    this.getRegSz(dreg, sz);
    f.set(a);
    this.aluValue(k, sz, a, b, cin);
    f.set(r);
    this.setFlags(this.aluKind(k), sz, a, b, r, cin);
    if (k === 7) return;
    this.setRegSz(dreg, r, sz);
  }

  /** Opcodes 00-3D: Eb,Gb / Ev,Gv / Gb,Eb / Gv,Ev / AL,Ib / eAX,Iz. */
  private aluForm(i: Insn): void {
    const f = this.f;
    const k = i.op >> 3;
    const lo = i.op & 7;
    const sz = (lo & 1) === 0 ? 0 : i.o16 ? 1 : 2;
    const b = this.tmp();
    if (lo >= 4) {
      f.i32(sz === 0 ? i.imm & 0xff : i.imm);
      f.set(b);
      this.alu({ ...i, mem: false, rmReg: 0 }, k, sz, true, b);
      return;
    }
    if (lo < 2) {
      // r/m is the destination, reg the source.
      this.getRegSz(i.reg, sz);
      f.set(b);
      this.alu(i, k, sz, true, b);
    } else {
      this.readRmSz(i, sz);
      f.set(b);
      this.alu(i, k, sz, false, b);
    }
  }

  private aluImm(i: Insn, sz: number): void {
    const b = this.tmp();
    this.f.i32(i.imm & MASK[sz]!);
    this.f.set(b);
    this.alu(i, i.reg, sz, true, b);
  }

  private test(i: Insn, sz: number): void {
    const f = this.f;
    const a = this.tmp();
    const b = this.tmp();
    this.readRmSz(i, sz);
    f.set(a);
    this.getRegSz(i.reg, sz);
    f.set(b);
    this.logicFlags(a, b, sz);
  }

  private testImm(reg: number, imm: number, sz: number): void {
    const f = this.f;
    const a = this.tmp();
    const b = this.tmp();
    if (sz === 0) this.getReg8(reg); else this.getReg(reg);
    f.set(a);
    f.i32(sz === 0 ? imm & 0xff : imm);
    f.set(b);
    this.logicFlags(a, b, sz);
  }

  private testRmImm(i: Insn, sz: number): void {
    const f = this.f;
    const a = this.tmp();
    const b = this.tmp();
    if (sz === 0) this.readRm8(i); else this.readRm32(i);
    f.set(a);
    f.i32(sz === 0 ? i.imm & 0xff : i.imm);
    f.set(b);
    this.logicFlags(a, b, sz);
  }

  /** TEST flags, as testOp() records them. */
  private logicFlags(a: number, b: number, sz: number): void {
    const f = this.f;
    const r = this.tmp();
    f.get(a); f.get(b); f.op(Op.I32And); f.set(r);
    this.setFlags(L_LOGIC, sz, a, b, r);
  }

  private incDec(reg: number, sz: number, _mem: boolean, kind: number): void {
    const f = this.f;
    const a = this.tmp();
    const r = this.tmp();
    const cin = this.tmp();
    this.cf();
    f.set(cin);
    this.getReg(reg);
    f.set(a);
    f.get(a); f.i32(1); f.op(kind === L_INC ? Op.I32Add : Op.I32Sub); f.set(r);
    const one = this.tmp();
    f.i32(1); f.set(one);
    this.setFlags(kind, sz, a, one, r, cin);
    f.get(r);
    this.setReg(reg);
  }

  private incDecRm(i: Insn, sz: number): void {
    const f = this.f;
    const kind = i.reg === 0 ? L_INC : L_DEC;
    if (!i.mem) {
      if (sz === 2) { this.incDec(i.rmReg, 2, false, kind); return; }
      const a = this.tmp();
      const r = this.tmp();
      const cin = this.tmp();
      const one = this.tmp();
      this.cf(); f.set(cin);
      if (sz === 0) this.getReg8(i.rmReg);
      else { this.getReg(i.rmReg); f.i32(0xffff); f.op(Op.I32And); }
      f.set(a);
      f.get(a); f.i32(1); f.op(kind === L_INC ? Op.I32Add : Op.I32Sub); f.i32(MASK[sz]!); f.op(Op.I32And); f.set(r);
      f.i32(1); f.set(one);
      this.setFlags(kind, sz, a, one, r, cin);
      if (sz === 0) this.setReg8(i.rmReg, r);
      else this.setRegSz(i.rmReg, r, 1);
      return;
    }
    const lin = this.tmp();
    const a = this.tmp();
    const r = this.tmp();
    const cin = this.tmp();
    const one = this.tmp();
    this.cf(); f.set(cin);
    this.ea(i); f.set(lin);
    f.get(lin);
    this.load(BYTES[sz]!, true);
    f.set(a);
    f.get(a); f.i32(1); f.op(kind === L_INC ? Op.I32Add : Op.I32Sub);
    if (sz !== 2) { f.i32(MASK[sz]!); f.op(Op.I32And); }
    f.set(r);
    this.store(BYTES[sz]!, lin, r);
    f.i32(1); f.set(one);
    this.setFlags(kind, sz, a, one, r, cin);
  }

  /** Read-modify-write operand r/m32 into local `a` (probing for writing; `lin` keeps the address). */
  private readRmw32(i: Insn, lin: number, a: number): void {
    const f = this.f;
    if (i.mem) {
      this.ea(i);
      f.set(lin);
      f.get(lin);
      this.load(4, true);
    } else {
      this.getReg(i.rmReg);
    }
    f.set(a);
  }

  private notNeg(i: Insn): void {
    const f = this.f;
    const a = this.tmp();
    const r = this.tmp();
    const lin = this.tmp();
    this.readRmw32(i, lin, a);
    if (i.reg === 2) {
      f.get(a); f.i32(-1); f.op(Op.I32Xor); f.set(r);
    } else {
      f.i32(0); f.get(a); f.op(Op.I32Sub); f.set(r);
    }
    if (i.mem) this.store(4, lin, r);
    if (i.reg === 3) {
      const zero = this.tmp();
      f.i32(0); f.set(zero);
      this.setFlags(L_SUB, 2, zero, a, r);
    }
    if (!i.mem) { f.get(r); this.setReg(i.rmReg); }
  }

  private shift(i: Insn): void {
    const f = this.f;
    const n = i.op === 0xd1 ? 1 : i.imm & 31;
    if (n === 0) {
      // A masked count of 0 changes nothing, but a memory operand is still accessed (and may fault).
      if (i.mem) { this.ea(i); this.load(4, true); f.op(Op.Drop); }
      return;
    }
    const a = this.tmp();
    const r = this.tmp();
    const lin = this.tmp();
    const cin = this.tmp();
    this.readRmw32(i, lin, a);
    if (i.reg <= 1) {
      // ROL/ROR change only CF and OF (as shift.ts computes them): they stay pending over the producer (pendingRotate).
      f.get(a); f.i32(n); f.op(i.reg === 0 ? Op.I32Rotl : Op.I32Rotr); f.set(r);
      if (i.mem) this.store(4, lin, r);
      if (i.reg === 0) { // ROL: cf = bit 0, of = msb ^ cf
        f.get(r); f.i32(1); f.op(Op.I32And); f.tee(cin);
        f.get(r); f.i32(31); f.op(Op.I32ShrU); f.op(Op.I32Xor);
      } else { // ROR: cf = msb, of = msb ^ bit 30
        f.get(r); f.i32(31); f.op(Op.I32ShrU); f.tee(cin);
        f.get(r); f.i32(30); f.op(Op.I32ShrU); f.i32(1); f.op(Op.I32And); f.op(Op.I32Xor);
      }
      f.i32(11); f.op(Op.I32Shl); f.get(cin); f.op(Op.I32Or);
      f.set(L_ROTF);
      this.pendingRotate = true;
      if (!i.mem) { f.get(r); this.setReg(i.rmReg); }
      return;
    }
    this.shiftResult(i.reg, a, r, cin, n);
    if (i.mem) this.store(4, lin, r);
    this.setFlags(L_RES, 2, -1, -1, r, cin);
    if (!i.mem) { f.get(r); this.setReg(i.rmReg); }
  }

  /**
   * SHL/SHR/SAR r/m8 by 1 (D0) or by an imm8 of 1..7 (C0; the decoder leaves
   * other counts to the interpreter), with the flags shift.ts computes for
   * 8-bit operands: SHL cf = bit 8 - n, of = bit 7 of r ^ cf; SHR cf = bit
   * n - 1, of = bit 7 of a; SAR cf = bit n - 1 of the sign-extended a, of = 0.
   */
  private shift8(i: Insn): void {
    const f = this.f;
    const n = i.op === 0xd0 ? 1 : i.imm & 31;
    const a = this.tmp();
    const r = this.tmp();
    const lin = this.tmp();
    const cin = this.tmp();
    if (i.mem) {
      this.ea(i); f.set(lin);
      f.get(lin);
      this.load(1, true);
    } else {
      this.getReg8(i.rmReg);
    }
    f.set(a);
    if (i.reg === 4) {
      f.get(a); f.i32(n); f.op(Op.I32Shl); f.i32(0xff); f.op(Op.I32And); f.set(r);
      f.get(a); f.i32(8 - n); f.op(Op.I32ShrU); f.i32(1); f.op(Op.I32And); f.tee(cin);
      f.get(r); f.i32(7); f.op(Op.I32ShrU); f.op(Op.I32Xor);
      f.i32(1); f.op(Op.I32Shl); f.get(cin); f.op(Op.I32Or); f.set(cin);
    } else if (i.reg === 5) {
      f.get(a); f.i32(n); f.op(Op.I32ShrU); f.set(r);
      f.get(a); f.i32(n - 1); f.op(Op.I32ShrU); f.i32(1); f.op(Op.I32And);
      f.get(a); f.i32(7); f.op(Op.I32ShrU); f.i32(1); f.op(Op.I32Shl);
      f.op(Op.I32Or); f.set(cin);
    } else {
      f.get(a); f.op(Op.I32Extend8S); f.i32(n); f.op(Op.I32ShrS); f.i32(0xff); f.op(Op.I32And); f.set(r);
      f.get(a); f.op(Op.I32Extend8S); f.i32(n - 1); f.op(Op.I32ShrS); f.i32(1); f.op(Op.I32And); f.set(cin);
    }
    if (i.mem) this.store(1, lin, r);
    this.setFlags(L_RES, 0, -1, -1, r, cin);
    if (!i.mem) this.setReg8(i.rmReg, r);
  }

  /**
   * SHL/SHR/SAR (ModRM.reg 4, 5, 7) of local `a` by `count` (1..31, a
   * constant or a local): the result into `r`, cf | of << 1 into `cin` (as
   * shift.ts computes them: SHL cf = bit 32 - n, of = msb(r) ^ cf; SHR cf =
   * bit n - 1, of = msb(a); SAR cf = bit n - 1, of = 0).
   */
  private shiftResult(reg: number, a: number, r: number, cin: number, count: ShiftCount): void {
    const f = this.f;
    const op = reg === 4 ? Op.I32Shl : reg === 5 ? Op.I32ShrU : Op.I32ShrS;
    f.get(a); this.pushCount(count, 0); f.op(op); f.set(r);
    if (reg === 4) {
      f.get(a); this.pushCount(count, 32, true); f.op(Op.I32ShrU); f.i32(1); f.op(Op.I32And); // cf
      f.tee(cin);
      f.get(r); f.i32(31); f.op(Op.I32ShrU); f.op(Op.I32Xor); // of = msb(r) ^ cf
      f.i32(1); f.op(Op.I32Shl);
      f.get(cin); f.op(Op.I32Or); f.set(cin);
    } else if (reg === 5) {
      f.get(a); this.pushCount(count, -1); f.op(Op.I32ShrU); f.i32(1); f.op(Op.I32And);
      f.get(a); f.i32(31); f.op(Op.I32ShrU); f.i32(1); f.op(Op.I32Shl);
      f.op(Op.I32Or); f.set(cin);
    } else {
      f.get(a); this.pushCount(count, -1); f.op(Op.I32ShrS); f.i32(1); f.op(Op.I32And); f.set(cin);
    }
  }

  /** Push count + offset, or offset - count when `negate`. */
  private pushCount(count: ShiftCount, offset: number, negate = false): void {
    const f = this.f;
    if (typeof count === 'number') { f.i32(negate ? offset - count : count + offset); return; }
    if (negate) { f.i32(offset); f.get(count.local); f.op(Op.I32Sub); return; }
    f.get(count.local);
    if (offset !== 0) { f.i32(-offset); f.op(Op.I32Sub); }
  }

  /**
   * SHL/SHR/SAR r32, CL (D3 /4 /5 /7): as shift() with the count from CL.
   * A masked count of 0 changes neither the register nor the flags, so
   * after this instruction the producer of the flags is not known statically.
   */
  private shiftByCl(i: Insn): void {
    const f = this.f;
    const n = this.tmp();
    const a = this.tmp();
    const r = this.tmp();
    const cin = this.tmp();
    if (this.pendingRotate) this.knowFlags(); // a count of 0 keeps the flags: the state after the `if` must not depend on a pending rotate
    this.getReg(1); f.i32(31); f.op(Op.I32And); f.tee(n);
    f.if();
    this.open++;
    this.getReg(i.rmReg); f.set(a);
    this.shiftResult(i.reg, a, r, cin, { local: n });
    this.setFlags(L_RES, 2, -1, -1, r, cin);
    f.get(r); this.setReg(i.rmReg);
    f.end();
    this.open--;
    this.producer = { kind: DYNAMIC, sz: 2 };
  }

  /**
   * SHLD/SHRD r/m32, r32, imm8 or CL (shift.ts): the destination shifted,
   * filled from the source; CF = the last bit shifted out, OF = the sign
   * changed. The imm8 forms never have a count of 0 (block-decoder.ts); the
   * CL forms (register destination only) change nothing for a count of 0,
   * after which the flags' producer is dynamic.
   */
  private shiftDouble(i: Insn): void {
    const f = this.f;
    const left = i.op === 0x1a4 || i.op === 0x1a5;
    const byCl = i.op === 0x1a5 || i.op === 0x1ad;
    const n = this.tmp();
    const a = this.tmp();
    const b = this.tmp();
    const r = this.tmp();
    const cin = this.tmp();
    const lin = this.tmp();
    if (byCl && this.pendingRotate) this.knowFlags(); // as in shiftByCl
    if (byCl) { this.getReg(1); f.i32(31); f.op(Op.I32And); } else f.i32(i.imm & 31);
    f.set(n);
    if (byCl) {
      f.get(n);
      f.if();
      this.open++;
    }
    this.getReg(i.reg); f.set(b);
    this.readRmw32(i, lin, a);
    // r = a << n | b >>> (32 - n) (SHLD), a >>> n | b << (32 - n) (SHRD); cf = the last bit out of a
    f.get(a); f.get(n); f.op(left ? Op.I32Shl : Op.I32ShrU);
    f.get(b); f.i32(32); f.get(n); f.op(Op.I32Sub); f.op(left ? Op.I32ShrU : Op.I32Shl);
    f.op(Op.I32Or); f.set(r);
    if (i.mem) this.store(4, lin, r);
    f.get(a);
    if (left) { f.i32(32); f.get(n); f.op(Op.I32Sub); } else { f.get(n); f.i32(1); f.op(Op.I32Sub); }
    f.op(Op.I32ShrU); f.i32(1); f.op(Op.I32And);
    f.get(r); f.get(a); f.op(Op.I32Xor); f.i32(31); f.op(Op.I32ShrU); f.i32(1); f.op(Op.I32Shl);
    f.op(Op.I32Or); f.set(cin); // cf | of << 1
    this.setFlags(L_RES, 2, -1, -1, r, cin);
    if (!i.mem) { f.get(r); this.setReg(i.rmReg); }
    if (byCl) {
      f.end();
      this.open--;
      this.producer = { kind: DYNAMIC, sz: 2 };
    }
  }

  /** IMUL r32, r/m32 [, imm]: low half to the register; CF = OF = the product does not fit 32 bits. */
  private imul(i: Insn, withImm: boolean): void {
    const f = this.f;
    const a = this.tmp();
    const b = this.tmp();
    const lo = this.tmp();
    const cin = this.tmp();
    this.readRm32(i);
    f.set(a);
    if (withImm) f.i32(i.imm); else this.getReg(i.reg);
    f.set(b);
    f.get(a); f.get(b); f.op(Op.I32Mul); f.set(lo);
    // High half of the signed 64-bit product, compared with the sign extension of the low half.
    f.get(a); f.op(Op.I64ExtendI32S);
    f.get(b); f.op(Op.I64ExtendI32S);
    f.op(Op.I64Mul);
    f.byte(Op.I64Const); f.s32(32);
    f.op(Op.I64ShrS);
    f.op(Op.I32WrapI64);
    f.get(lo); f.i32(31); f.op(Op.I32ShrS);
    f.op(Op.I32Ne);
    f.tee(cin);
    f.i32(1); f.op(Op.I32Shl);
    f.get(cin); f.op(Op.I32Or); f.set(cin);
    this.setFlags(L_RES, 2, -1, -1, lo, cin);
    f.get(lo);
    this.setReg(i.reg);
  }

  private movStore(i: Insn, sz: number): void {
    const f = this.f;
    const v = this.tmp();
    this.getRegSz(i.reg, sz);
    f.set(v);
    if (!i.mem) {
      this.setRegSz(i.rmReg, v, sz);
      return;
    }
    const lin = this.tmp();
    this.ea(i); f.set(lin);
    this.store(BYTES[sz]!, lin, v);
  }

  private movLoad(i: Insn, sz: number): void {
    if (sz === 2) { this.readRm32(i); this.setReg(i.reg); return; }
    const v = this.tmp();
    this.readRmSz(i, sz);
    this.f.set(v);
    this.setRegSz(i.reg, v, sz);
  }

  private movImmStore(i: Insn, sz: number): void {
    const f = this.f;
    const v = this.tmp();
    f.i32(i.imm & MASK[sz]!);
    f.set(v);
    if (!i.mem) {
      this.setRegSz(i.rmReg, v, sz);
      return;
    }
    const lin = this.tmp();
    this.ea(i); f.set(lin);
    this.store(BYTES[sz]!, lin, v);
  }

  private movR8Imm(i: Insn): void {
    const v = this.tmp();
    this.f.i32(i.imm & 0xff);
    this.f.set(v);
    this.setReg8(i.op & 7, v);
  }

  private push(value: () => void): void {
    const f = this.f;
    const v = this.tmp();
    const lin = this.tmp();
    value();
    f.set(v);
    this.getReg(4); f.i32(4); f.op(Op.I32Sub); f.set(lin);
    this.store(4, lin, v);
    f.get(lin);
    this.setReg(4);
  }

  /** Push the selector of segment register `s` (the state frame's copy, set at entry). */
  private segSel(s: number): void {
    this.f.i32(0);
    this.f.mem(Op.I32Load, 2, this.layout.state + ST_SEGSEL + s * 4);
  }

  /**
   * POP m32 (8F /0): the address is computed with ESP already incremented
   * when ESP is its base (SDM POP); a write that faults leaves ESP as it was.
   */
  private popMem(i: Insn): void {
    const f = this.f;
    const v = this.tmp();
    const lin = this.tmp();
    this.getReg(4);
    this.load(4);
    f.set(v);
    this.ea(i);
    if (i.base === 4) { f.i32(4); f.op(Op.I32Add); }
    f.set(lin);
    this.store(4, lin, v);
    this.getReg(4); f.i32(4); f.op(Op.I32Add); this.setReg(4);
  }

  /**
   * CALL rel32 to a PC thunk (Insn.thunk): push the return address, then, if
   * the TLB maps the target readable in this mode and its bytes still are
   * `mov reg,[esp]; ret`, run the thunk here: the register gets the return
   * address and the RET pops it (three instructions retired, execution goes
   * on after the CALL). Otherwise this is a plain CALL that leaves the
   * region for the target. The bytes are read after the push, so a push
   * that rewrote them is seen as the CPU would see it.
   */
  private callPcThunk(i: Insn): void {
    const f = this.f;
    const target = i.target;
    const next = this.nextEip();
    this.pushReturnAddress(i);
    this.codeWordIs(target, pcThunkWord(i.thunk));
    this.unlessPlainCall(i);
    f.i32(next);
    this.setReg(i.thunk);
    this.getReg(4); f.i32(4); f.op(Op.I32Add); this.setReg(4);
    this.extra += 2;
  }

  /**
   * CALL rel32 to a PLT entry (Insn.got): push the return address, then, if
   * the entry's bytes are still `jmp [got]` and both its page and the GOT
   * slot read from the TLB in this mode, leave for the address in the slot
   * with the JMP retired too; otherwise leave for the entry (a plain CALL).
   * One region transition per call of a statically linked busybox's string
   * functions (IRELATIVE PLT entries) instead of two.
   */
  private callPlt(i: Insn): void {
    const f = this.f;
    const target = i.target;
    const got = i.got;
    this.pushReturnAddress(i);
    this.codeWordIs(target, pltWord(got), (h) => {
      // The entry's last two bytes, and the GOT slot readable.
      f.get(h);
      f.mem(Op.I32Load16U, 0, 4);
      f.i32(got >>> 16);
      f.op(Op.I32Eq);
      f.op(Op.I32And);
      this.pageReadable(got);
      f.op(Op.I32And);
    });
    this.unlessPlainCall(i);
    this.hostOfConst(got);
    f.mem(Op.I32Load, 0, 0);
    this.exitStack(this.retiredBefore() + 2);
  }

  /** The push of CALL rel32 (Insn.thunk, Insn.got): a slow path that asks to stop (it wrote a page with compiled code) leaves for the target, the CALL retired. */
  private pushReturnAddress(i: Insn): void {
    const f = this.f;
    this.push(() => f.i32(this.nextEip()));
    if (!this.slowCalled) return;
    f.get(L_EXITF);
    f.if();
    this.open++;
    this.exitConst(i.target, this.retiredBefore() + 1);
    f.end();
    this.open--;
    this.slowCalled = false;
  }

  /**
   * Push whether the TLB maps constant address `lin`'s page readable in this
   * mode and the i32 there, masked with `mask`, is `word`; `more` may AND a
   * further condition, with the host address of `lin` in its local `h`.
   */
  private codeWordIs(lin: number, word: number, more?: (h: number) => void, mask = -1): void {
    const f = this.f;
    const h = this.tmp();
    this.pageReadable(lin);
    f.ifI32();
    this.hostOfConst(lin);
    f.tee(h);
    f.mem(Op.I32Load, 0, 0);
    if (mask !== -1) {
      f.i32(mask);
      f.op(Op.I32And);
    }
    f.i32(word);
    f.op(Op.I32Eq);
    more?.(h);
    f.else();
    f.i32(0);
    f.end();
  }

  /**
   * Before an instruction that runs onto the next page (Insn.cross): leave
   * before it, for the interpreter, unless the TLB maps that page readable
   * in this mode and its first bytes are still those it was decoded with.
   * Checked on every run, so a write to that page or a new mapping is seen
   * as the CPU's fetch would see it; the instruction ends its block.
   */
  private checkCrossingBytes(i: Insn): void {
    const f = this.f;
    this.codeWordIs((i.eip + i.len - i.cross) | 0, i.crossWord, undefined, crossMask(i.cross));
    f.op(Op.I32Eqz);
    f.if();
    this.open++;
    this.requestExit(EXIT_STALE);
    this.exitConst(i.eip, this.retiredBefore());
    f.end();
    this.open--;
  }

  /** Push whether the TLB maps the page of constant address `lin` readable in this mode. */
  private pageReadable(lin: number): void {
    const f = this.f;
    f.i32(0);
    f.mem(Op.I32Load, 2, this.layout.tlbRd + tlbSlotOffset(lin));
    f.i32(lin >>> 12);
    f.get(L_KEY);
    f.op(Op.I32Or);
    f.op(Op.I32Eq);
  }

  /** Push the host address of constant `lin` (its page must be in the TLB). */
  private hostOfConst(lin: number): void {
    const f = this.f;
    f.i32(lin);
    f.i32(0);
    f.mem(Op.I32Load, 2, this.layout.tlbDelta + tlbSlotOffset(lin));
    f.op(Op.I32Add);
  }

  /** With the guard of a CALL's fast form on the stack: if it failed, leave for the CALL's target, the CALL retired. */
  private unlessPlainCall(i: Insn): void {
    const f = this.f;
    f.op(Op.I32Eqz);
    f.if();
    this.open++;
    this.exitConst(i.target, this.retiredBefore() + 1);
    f.end();
    this.open--;
  }

  private pop(reg: number): void {
    this.f.get(this.popToTemp());
    this.setReg(reg); // POP ESP: the popped value wins over the increment
  }

  /** Pop a dword into a new temp local (returned): the load first, so a fault leaves ESP as it was. */
  private popToTemp(): number {
    const f = this.f;
    const v = this.tmp();
    this.getReg(4);
    this.load(4);
    f.set(v);
    this.getReg(4); f.i32(4); f.op(Op.I32Add); this.setReg(4);
    return v;
  }

  private jcc(i: Insn, cc: number): void {
    const f = this.f;
    this.cond(cc);
    f.if();
    this.open++;
    this.goTo(i.target);
    f.end();
    this.open--;
    this.goTo(this.nextEip());
  }

  private cmov(i: Insn): void {
    const f = this.f;
    const v = this.tmp();
    this.readRm32(i); // the source is read (and may fault) whatever the condition
    f.set(v);
    this.cond(i.op & 15);
    f.if();
    this.open++;
    f.get(v);
    this.setReg(i.reg);
    f.end();
    this.open--;
  }

  private setcc(i: Insn): void {
    const f = this.f;
    const v = this.tmp();
    this.cond(i.op & 15);
    f.set(v);
    if (!i.mem) { this.setReg8(i.rmReg, v); return; }
    const lin = this.tmp();
    this.ea(i); f.set(lin);
    this.store(1, lin, v);
  }
}

/** FCMOVcc (DA/DB C0-DF) read EFLAGS; FUCOMI/FCOMI(P) (DB/DF E8-F7) write ZF, PF, CF and clear OF, SF, AF. */
function x87UsesEflags(op: number, modrm: number): boolean {
  if (modrm < 0xc0) return false;
  if (op === 0xda) return modrm < 0xe0;
  if (op === 0xdb) return modrm < 0xe0 || (modrm >= 0xe8 && modrm < 0xf8);
  if (op === 0xdf) return modrm >= 0xe8 && modrm < 0xf8;
  return false;
}

/** Registers (bit mask) an instruction may write. */
function writtenRegs(i: Insn): number {
  const op = i.op;
  const rm = i.rmReg >= 0 ? 1 << i.rmReg : 0;
  const rm8 = i.rmReg >= 0 ? 1 << (i.rmReg & 3) : 0;
  const reg = 1 << i.reg;
  const reg8 = 1 << (i.reg & 3);
  if (op < 0x40) {
    if ((op & 7) === 6) return 1 << 4; // PUSH Sreg
    if ((op >> 3) === 7) return 0;
    const lo = op & 7;
    if (lo >= 4) return 1;
    if (lo < 2) return (op & 1) === 0 ? rm8 : rm;
    return (op & 1) === 0 ? reg8 : reg;
  }
  if (op < 0x50) return 1 << (op & 7);
  if (op < 0x58) return 1 << 4;
  if (op < 0x60) return (1 << 4) | (1 << (op & 7));
  if (op >= 0xb0 && op <= 0xb7) return 1 << (op & 3);
  if (op >= 0xb8 && op <= 0xbf) return 1 << (op & 7);
  if (op >= 0x140 && op <= 0x14f) return reg;
  if (op >= 0x190 && op <= 0x19f) return rm8;
  if (op >= 0x1c8 && op <= 0x1cf) return 1 << (op & 7);
  if (op >= 0x91 && op <= 0x97) return 1 | (1 << (op & 7));
  if (op >= 0xd8 && op <= 0xdf) return op === 0xdf && i.modrm === 0xe0 ? 1 : 0; // x87: only FNSTSW AX writes a register
  switch (op) {
    case 0xe8: return i.thunk >= 0 ? 1 << 4 | 1 << i.thunk : 1 << 4;
    case 0x68: case 0x6a: case 0xc3: return 1 << 4;
    case 0x69: case 0x6b: case 0x1af: case 0x8b: case 0x8d: case 0x1b6: case 0x1b7: case 0x1be: case 0x1bf: return reg;
    case 0x8a: return reg8;
    case 0xf7: return i.reg >= 4 ? (1 << 0) | (1 << 2) : rm;
    case 0x87: return reg | rm;
    case 0x8f: return rm | (1 << 4);
    case 0x8c: return rm;
    case 0x1a0: case 0x1a8: return 1 << 4;
    case 0x1b1: return 1 | rm;
    case 0x81: case 0x83: case 0x89: case 0xc7: case 0xc1: case 0xd1: case 0xd3: case 0x1a4: case 0x1a5: case 0x1ac: case 0x1ad: return rm;
    case 0x80: case 0x88: case 0xc6: case 0xfe: case 0xc0: case 0xd0: return rm8;
    case 0x98: case 0xa0: case 0xa1: return 1;
    case 0x9c: case 0x9d: return 1 << 4;
    case 0x134: case 0x135: return 1 << 4; // SYSENTER, SYSEXIT: ESP
    case 0x131: case 0x1c7: return 1 | (1 << 2);
    case 0xa4: case 0xa5: return (1 << 6) | (1 << 7) | (i.rep ? 1 << 1 : 0);
    case 0xaa: case 0xab: return (1 << 7) | (i.rep ? 1 << 1 : 0);
    case 0x1ab: case 0x1b3: case 0x1bb: return rm;
    case 0x1ba: return i.reg === 4 ? 0 : rm;
    case 0x99: return 1 << 2;
    case 0xff: return i.reg <= 1 ? rm : 1 << 4;
    default: return 0;
  }
}
