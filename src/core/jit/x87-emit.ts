/**
 * The common x87 instructions in WebAssembly: helper functions that a
 * module with floating-point code includes once, and the plan that tells the
 * translator which helpers an instruction needs.
 *
 * The x87 unit's state lives in the JIT's state frame (ST_X87, laid out as
 * fpu/x87-storage.ts says), so a helper works on it directly. Each helper
 * covers exactly the cases the interpreter's fast paths (fpu/float80-fast.ts)
 * compute: finite normal operands (zeros where the operation is exact),
 * results well inside the exponent range, every exception masked, rounding
 * to nearest with 64-bit precision, no exception pending, and no stack fault.
 * It then leaves what the interpreter would have left (register, tag,
 * TOP, status word with PE and C1, last instruction and data pointers) and
 * returns 1. In every other case it changes nothing and returns 0 (FCOMI:
 * -1), and the translator calls the `x87` import, which runs the
 * interpreter's code for the instruction. Before this, each x87 instruction
 * was an import call into that code, and floating-point programs ran at
 * 2.5 times v86's time.
 *
 * Helpers (parameters in order; `eip`, `fop` and `fdp` are the instruction's
 * address, its FOP value and its memory operand's offset):
 *  - LoadMem(addr, kind): widens the double (kind 0), single (1), int32 (2)
 *    or int16 (3) at host address `addr` into slot MEM; 0 for denormals,
 *    infinities and NaNs.
 *  - Arith(op, d, s, pop, eip, fop, fdp): ST(d) <- ST(d) op ST(s) (s = 8:
 *    slot MEM), op as the interpreter's `compute` (0 add, 1 mul, 4 sub, 5
 *    subr), then pops once when `pop`.
 *  - Ld(src, eip, fop, fdp): pushes ST(src), slot MEM (8), +0 (9) or +1 (10).
 *  - StMem(addr, kind, pop, eip, fop, fdp): FST(P) m64 (kind 0) or m32 (1)
 *    to host address `addr`.
 *  - StReg(i, pop, eip, fop): FST(P) ST(i).
 *  - Xch(i, eip, fop): FXCH ST(i).
 *  - Sign(kind, eip, fop): FCHS (0), FABS (1).
 *  - Sqrt(eip, fop): FSQRT.
 *  - Comi(i, pop, eip, fop): FCOMI/FUCOMI(P) of normal or zero operands:
 *    returns the EFLAGS bits (ZF, CF) to set, or -1.
 */
import { buildModule, FunctionBody, I32, Op } from './wasm-emitter.ts';
import { ST_CS_SEL, ST_X87, ST_X87_OK } from './layout.ts';
import {
  X87_CW, X87_EMPTY, X87_FCS, X87_FDP, X87_FDS, X87_FIP, X87_FOP, X87_HI, X87_LO, X87_SE, X87_SW, X87_TOP,
} from '../cpu/fpu/x87-storage.ts';

export const enum X87Helper { LoadMem = 0, Arith = 1, Ld = 2, StMem = 3, StReg = 4, Xch = 5, Sign = 6, Comi = 7, Sqrt = 8 }
/** Parameter counts of the helpers, by X87Helper. */
export const X87_HELPER_PARAMS: readonly number[] = [2, 7, 4, 6, 4, 3, 3, 4, 2];
/** i32 and i64 locals every helper declares (beyond its parameters). */
export const X87_HELPER_LOCALS = 16;
export const X87_HELPER_LOCALS64 = 16;

/** Sources the helpers take besides ST(0..7): slot MEM (a widened memory operand), and Ld's constants +0 and +1. */
export const X87_SRC_MEM = 8;
export const X87_SRC_ZERO = 9;
export const X87_SRC_ONE = 10;
const MEM = X87_SRC_MEM;
const BIAS = 16383;
const SW_C1 = 0x200;
const SW_ES = 0x80;
const SW_B = 0x8000;
/** Control word bits the helpers depend on (exception masks, PC, RC) and the only value they accept: all masked, 64-bit precision, to nearest. */
const CW_FAST_MASK = 0x0f3f;
const CW_FAST = 0x033f;
const J_BIT = -(1n << 63n);

// ------------------------------------------------------------------ plans

/** What the translator emits for one x87 instruction: memory access, then helper calls. */
export interface X87Plan {
  /** Memory operand: 'none', a read of `size` bytes widened into slot MEM first, or a store of `size` bytes. */
  mem: 'none' | 'load' | 'store';
  size: number;
  /** LoadMem's kind for loads (0 double, 1 single, 2 int32, 3 int16). */
  kind: number;
  helper: X87Helper;
  /** The helper's leading arguments; eip and fop follow, then fdp when `fdp`. */
  args: number[];
  /** The helper takes the memory operand's offset last (0 for its register forms). */
  fdp: boolean;
  /** Writes EFLAGS (Comi). */
  flags: boolean;
}

/** The plan for ESC opcode `op` (D8..DF) with `modrm`, or null when only the import runs it. */
export function planX87(op: number, modrm: number): X87Plan | null {
  const reg = (modrm >> 3) & 7;
  const i = modrm & 7;
  const plan = (helper: X87Helper, args: number[], mem: X87Plan['mem'] = 'none', size = 0, kind = 0, flags = false): X87Plan =>
    ({ mem, size, kind, helper, args, flags, fdp: helper === X87Helper.Arith || helper === X87Helper.Ld || helper === X87Helper.StMem });
  const arithOp = reg !== 2 && reg !== 3; // FCOM/FCOMP go through the import
  if (modrm < 0xc0) {
    switch (op) {
      case 0xd8: return arithOp ? plan(X87Helper.Arith, [reg, 0, MEM, 0], 'load', 4, 1) : null;
      case 0xdc: return arithOp ? plan(X87Helper.Arith, [reg, 0, MEM, 0], 'load', 8, 0) : null;
      case 0xda: return arithOp ? plan(X87Helper.Arith, [reg, 0, MEM, 0], 'load', 4, 2) : null;
      case 0xde: return arithOp ? plan(X87Helper.Arith, [reg, 0, MEM, 0], 'load', 2, 3) : null;
      case 0xd9:
        if (reg === 0) return plan(X87Helper.Ld, [MEM], 'load', 4, 1);
        if (reg === 2 || reg === 3) return plan(X87Helper.StMem, [1, reg === 3 ? 1 : 0], 'store', 4);
        return null;
      case 0xdd:
        if (reg === 0) return plan(X87Helper.Ld, [MEM], 'load', 8, 0);
        if (reg === 2 || reg === 3) return plan(X87Helper.StMem, [0, reg === 3 ? 1 : 0], 'store', 8);
        return null;
      case 0xdb: return reg === 0 ? plan(X87Helper.Ld, [MEM], 'load', 4, 2) : null;
      case 0xdf: return reg === 0 ? plan(X87Helper.Ld, [MEM], 'load', 2, 3) : null;
      default: return null;
    }
  }
  // Register forms: the interpreter's arithReg(reg, dest, src, rev, pop) swaps sub/subr for DC and DE.
  const rev = (r: number): number => (r >= 4 ? r ^ 1 : r);
  switch (op) {
    case 0xd8: return arithOp ? plan(X87Helper.Arith, [reg, 0, i, 0]) : null;
    case 0xdc: return arithOp ? plan(X87Helper.Arith, [rev(reg), i, 0, 0]) : null;
    case 0xde: return arithOp ? plan(X87Helper.Arith, [rev(reg), i, 0, 1]) : null;
    case 0xd9:
      if (reg === 0) return plan(X87Helper.Ld, [i]);
      if (reg === 1) return plan(X87Helper.Xch, [i]);
      if (modrm === 0xe0 || modrm === 0xe1) return plan(X87Helper.Sign, [modrm & 1]);
      if (modrm === 0xfa) return plan(X87Helper.Sqrt, []);
      if (modrm === 0xee) return plan(X87Helper.Ld, [X87_SRC_ZERO]);
      if (modrm === 0xe8) return plan(X87Helper.Ld, [X87_SRC_ONE]);
      return null;
    case 0xdd: return reg === 2 || reg === 3 ? plan(X87Helper.StReg, [i, reg === 3 ? 1 : 0]) : null;
    case 0xdb: return reg === 5 || reg === 6 ? plan(X87Helper.Comi, [i, 0], 'none', 0, 0, true) : null;
    case 0xdf: return reg === 5 || reg === 6 ? plan(X87Helper.Comi, [i, 1], 'none', 0, 0, true) : null;
    default: return null;
  }
}

// ------------------------------------------------------------------ helpers

/** The export (and import) name of helper k. */
export function x87HelperName(k: number): string {
  return `x87_${k}`;
}

/** Compiled helper modules by state-frame address and memory kind; VMs of one pool have frames at different addresses, so the oldest are dropped. */
const compiled = new Map<string, WebAssembly.Module>();
const COMPILED_KEPT = 8;

/**
 * The helpers as a module of their own (compiled once per state frame
 * address and memory kind, then instantiated per JIT): region modules import
 * them, so they are not compiled again with every batch of regions.
 */
export function x87HelperModule(state: number, shared: boolean): WebAssembly.Module {
  const key = `${state}:${shared}`;
  let module = compiled.get(key);
  if (module === undefined) {
    const counts = [...new Set(X87_HELPER_PARAMS)];
    module = new WebAssembly.Module(buildModule({
      types: counts.map((n) => ({ params: new Array<number>(n).fill(I32), results: [I32] })),
      imports: [],
      memory: { shared, maxPages: 65536 },
      functions: emitX87Helpers(state).map((body, k) => ({
        type: counts.indexOf(X87_HELPER_PARAMS[k]!), locals: X87_HELPER_LOCALS, locals64: X87_HELPER_LOCALS64, body, exportName: x87HelperName(k),
      })),
    }));
    if (compiled.size >= COMPILED_KEPT) compiled.delete(compiled.keys().next().value!);
    compiled.set(key, module);
  }
  return module;
}

/** The helper functions, in X87Helper order, for a state frame at host offset `state`. */
export function emitX87Helpers(state: number): FunctionBody[] {
  return [loadMem(state), arith(state), ld(state), stMem(state), stReg(state), xch(state), sign(state), comi(state), sqrt(state)];
}

/**
 * One helper's body under construction: a `block $fail` around everything,
 * so `failIf()` leaves with nothing changed and the function returns its
 * failure value; `succeed()` returns from inside.
 */
class Helper {
  readonly f = new FunctionBody();
  /** Blocks and ifs open inside $fail. */
  private open = 0;
  private next32: number;
  private next64: number;
  private readonly x: number;
  // State of the prologue.
  sw = -1;
  top = -1;
  empty = -1;

  constructor(private readonly state: number, private readonly params: number, private readonly failValue = 0) {
    this.next32 = params;
    this.next64 = params + X87_HELPER_LOCALS;
    this.x = state + ST_X87;
    this.f.block();
  }

  i32Local(): number {
    if (this.next32 >= this.params + X87_HELPER_LOCALS) throw new Error('x87-emit: out of i32 locals');
    return this.next32++;
  }

  i64Local(): number {
    if (this.next64 >= this.params + X87_HELPER_LOCALS + X87_HELPER_LOCALS64) throw new Error('x87-emit: out of i64 locals');
    return this.next64++;
  }

  /** Leave through $fail when the i32 on the stack is non-zero. */
  failIf(): void { this.f.brIf(this.open); }

  if(): void { this.f.if(); this.open++; }
  else(): void { this.f.else(); }
  end(): void { this.f.end(); this.open--; }

  /** Return the value on the stack. */
  succeed(): void { this.f.op(Op.Return); }

  done(): FunctionBody {
    if (this.open !== 0) throw new Error('x87-emit: unbalanced blocks');
    this.f.end();
    this.f.i32(this.failValue);
    return this.f;
  }

  // ---- state words

  ctl(off: number): void { this.f.i32(0); this.f.mem(Op.I32Load, 2, this.x + off); }

  setCtl(off: number, value: () => void): void {
    this.f.i32(0);
    value();
    this.f.mem(Op.I32Store, 2, this.x + off);
  }

  /** The checks every instruction needs (fast x87 allowed, control word, no pending exception); loads sw, top, empty. */
  prologue(): void {
    const f = this.f;
    f.i32(0);
    f.mem(Op.I32Load, 2, this.state + ST_X87_OK);
    f.op(Op.I32Eqz);
    this.failIf();
    this.ctl(X87_CW);
    f.i32(CW_FAST_MASK);
    f.op(Op.I32And);
    f.i32(CW_FAST);
    f.op(Op.I32Ne);
    this.failIf();
    this.sw = this.i32Local();
    this.ctl(X87_SW);
    f.tee(this.sw);
    f.i32(SW_ES);
    f.op(Op.I32And);
    this.failIf();
    this.top = this.i32Local();
    this.ctl(X87_TOP);
    f.set(this.top);
    this.empty = this.i32Local();
    this.ctl(X87_EMPTY);
    f.set(this.empty);
  }

  /** Push physical register (top + i) & 7 for the value pushed by `i`. */
  phys(i: () => void): void {
    const f = this.f;
    f.get(this.top);
    i();
    f.op(Op.I32Add);
    f.i32(7);
    f.op(Op.I32And);
  }

  /** Leave through $fail when physical register `p` (local) is empty (slot MEM never is). */
  failIfEmpty(p: number): void {
    const f = this.f;
    f.get(this.empty);
    f.get(p);
    f.op(Op.I32ShrU);
    f.i32(1);
    f.op(Op.I32And);
    this.failIf();
  }

  /** Slot `p` (local) into locals `se` (i32) and `sig` (i64). */
  loadSlot(p: number, se: number, sig: number): void {
    const f = this.f;
    f.get(p); f.i32(1); f.op(Op.I32Shl);
    f.mem(Op.I32Load16U, 1, this.x + X87_SE);
    f.set(se);
    f.get(p); f.i32(2); f.op(Op.I32Shl);
    f.mem(Op.I32Load, 2, this.x + X87_HI);
    f.op(Op.I64ExtendI32U);
    f.i64(32n);
    f.op(Op.I64Shl);
    f.get(p); f.i32(2); f.op(Op.I32Shl);
    f.mem(Op.I32Load, 2, this.x + X87_LO);
    f.op(Op.I64ExtendI32U);
    f.op(Op.I64Or);
    f.set(sig);
  }

  /** ST(0) and ST(i) (i in parameter `iParam`) into new locals, leaving through $fail unless both are valid; q is ST(i)'s physical register. */
  loadTopAndSti(iParam: number): { q: number; seA: number; sigA: number; seB: number; sigB: number } {
    const f = this.f;
    const r = { q: this.i32Local(), seA: this.i32Local(), seB: this.i32Local(), sigA: this.i64Local(), sigB: this.i64Local() };
    this.failIfEmpty(this.top);
    this.phys(() => f.get(iParam)); f.set(r.q);
    this.failIfEmpty(r.q);
    this.loadSlot(this.top, r.seA, r.sigA);
    this.loadSlot(r.q, r.seB, r.sigB);
    return r;
  }

  /** Locals `se` and `sig` into slot `p` (local). */
  storeSlot(p: number, se: number, sig: number): void {
    const f = this.f;
    f.get(p); f.i32(1); f.op(Op.I32Shl);
    f.get(se);
    f.mem(Op.I32Store16, 1, this.x + X87_SE);
    f.get(p); f.i32(2); f.op(Op.I32Shl);
    f.get(sig); f.i64(32n); f.op(Op.I64ShrU); f.op(Op.I32WrapI64);
    f.mem(Op.I32Store, 2, this.x + X87_HI);
    f.get(p); f.i32(2); f.op(Op.I32Shl);
    f.get(sig); f.op(Op.I32WrapI64);
    f.mem(Op.I32Store, 2, this.x + X87_LO);
  }

  /** Push 1 when (se, sig) is a finite normal value (biased exponent 1..7FFE, J set). */
  isNormal(se: number, sig: number): void {
    const f = this.f;
    f.get(se); f.i32(0x7fff); f.op(Op.I32And);
    f.i32(1); f.op(Op.I32Sub);
    f.i32(0x7ffe - 1); f.op(Op.I32LeU); // 1 <= exp <= 0x7ffe
    f.get(sig); f.i64(63n); f.op(Op.I64ShrU); f.op(Op.I32WrapI64);
    f.op(Op.I32And);
  }

  /** Push 1 when (se, sig) is +0 or -0. */
  isZero(se: number, sig: number): void {
    const f = this.f;
    f.get(se); f.i32(0x7fff); f.op(Op.I32And); f.op(Op.I32Eqz);
    f.get(sig); f.op(Op.I64Eqz);
    f.op(Op.I32And);
  }

  /** empty &= ~(1 << p) for local p. */
  markValid(p: number): void {
    const f = this.f;
    f.get(this.empty);
    f.i32(1); f.get(p); f.op(Op.I32Shl);
    f.i32(-1); f.op(Op.I32Xor);
    f.op(Op.I32And);
    f.set(this.empty);
  }

  /** Pop once: the register at TOP becomes empty and TOP moves up. */
  pop(): void {
    const f = this.f;
    f.get(this.empty);
    f.i32(1); f.get(this.top); f.op(Op.I32Shl);
    f.op(Op.I32Or);
    f.set(this.empty);
    f.get(this.top); f.i32(1); f.op(Op.I32Add); f.i32(7); f.op(Op.I32And);
    f.set(this.top);
  }

  /**
   * The end of a completed instruction, as the interpreter's `raise` leaves
   * it with every exception masked: PE from local `pe` (0/1, or none), C1
   * from local `c1` (or 0), ES and B clear; `raise` false: only C1 cleared
   * (FXCH). Then TOP, the tags, and the last instruction (and data) pointer.
   */
  finish(opts: { pe?: number; c1?: number; raise?: boolean; pop?: number; eip: number; fop: number; fdp?: number; fdpWhen?: () => void }): void {
    const f = this.f;
    if (opts.pop !== undefined) {
      f.get(opts.pop);
      this.if();
      this.pop();
      this.end();
    }
    this.setCtl(X87_TOP, () => f.get(this.top));
    this.setCtl(X87_EMPTY, () => f.get(this.empty));
    this.setCtl(X87_SW, () => {
      f.get(this.sw);
      f.i32(opts.raise === false ? ~SW_C1 : ~(SW_C1 | SW_ES | SW_B));
      f.op(Op.I32And);
      if (opts.pe !== undefined) {
        f.get(opts.pe); f.i32(5); f.op(Op.I32Shl); // PE = 0x20
        f.op(Op.I32Or);
      }
      if (opts.c1 !== undefined) {
        f.get(opts.c1); f.i32(9); f.op(Op.I32Shl); // C1 = 0x200
        f.op(Op.I32Or);
      }
    });
    this.setCtl(X87_FIP, () => f.get(opts.eip));
    this.setCtl(X87_FCS, () => {
      f.i32(0);
      f.mem(Op.I32Load, 2, this.state + ST_CS_SEL);
      f.i32(0xffff);
      f.op(Op.I32And);
    });
    this.setCtl(X87_FOP, () => f.get(opts.fop));
    if (opts.fdp !== undefined) {
      const fdp = opts.fdp;
      const store = (): void => {
        this.setCtl(X87_FDP, () => f.get(fdp));
        this.setCtl(X87_FDS, () => f.i32(0));
      };
      if (opts.fdpWhen !== undefined) {
        opts.fdpWhen();
        this.if();
        store();
        this.end();
      } else store();
    }
  }

  /** hi:lo <- a * b (unsigned 64 x 64 -> 128 bits from four 32 x 32 products); t1..t4 are i64 scratch. */
  mul128(a: number, b: number, hi: number, lo: number, t: readonly [number, number, number, number]): void {
    const f = this.f;
    const [t1, t2, t3, t4] = t;
    const lo32 = (v: number): void => { f.get(v); f.i64(0xffffffffn); f.op(Op.I64And); };
    const hi32 = (v: number): void => { f.get(v); f.i64(32n); f.op(Op.I64ShrU); };
    lo32(a); lo32(b); f.op(Op.I64Mul); f.set(t1); // ll
    lo32(a); hi32(b); f.op(Op.I64Mul); f.set(t2); // lh
    hi32(a); lo32(b); f.op(Op.I64Mul); f.set(t3); // hl
    // mid = (ll >> 32) + (lh & M) + (hl & M)
    hi32(t1); lo32(t2); f.op(Op.I64Add); lo32(t3); f.op(Op.I64Add); f.set(t4);
    // hi = hh + (lh >> 32) + (hl >> 32) + (mid >> 32)
    hi32(a); hi32(b); f.op(Op.I64Mul);
    hi32(t2); f.op(Op.I64Add); hi32(t3); f.op(Op.I64Add); hi32(t4); f.op(Op.I64Add);
    f.set(hi);
    // lo = (mid << 32) | (ll & M)
    f.get(t4); f.i64(32n); f.op(Op.I64Shl); lo32(t1); f.op(Op.I64Or); f.set(lo);
  }

  /** rhi:rlo <- nhi:nlo - phi:plo (128 bits, two's complement; the result may alias n). */
  sub128(nhi: number, nlo: number, phi: number, plo: number, rhi: number, rlo: number): void {
    const f = this.f;
    f.get(nhi); f.get(phi); f.op(Op.I64Sub);
    f.get(nlo); f.get(plo); f.op(Op.I64LtU); f.op(Op.I64ExtendI32U); f.op(Op.I64Sub);
    f.get(nlo); f.get(plo); f.op(Op.I64Sub); f.set(rlo);
    f.set(rhi);
  }

  /** hi:lo += chi:clo (128 bits, in place; the pushers push i64 values). */
  add128(hi: number, lo: number, chi: () => void, clo: () => void): void {
    const f = this.f;
    f.get(lo); clo(); f.op(Op.I64Add); f.set(lo);
    f.get(hi); chi(); f.op(Op.I64Add);
    f.get(lo); clo(); f.op(Op.I64LtU); f.op(Op.I64ExtendI32U); f.op(Op.I64Add);
    f.set(hi);
  }

  /** The signed 128-bit hi:lo as an (approximate) f64 on the stack. */
  toF64(hi: number, lo: number): void {
    const f = this.f;
    f.get(hi); f.op(Op.F64ConvertI64S); f.f64(2 ** 64); f.op(Op.F64Mul);
    f.get(lo); f.op(Op.F64ConvertI64U); f.op(Op.F64Add);
  }

  /**
   * A loop that runs `step` while `cond` pushes non-zero, at most `max`
   * times (then $fail: an estimate this far off means a case the helper
   * does not know, and the interpreter's code takes it). `k` is i32 scratch.
   */
  boundedWhile(k: number, max: number, cond: () => void, step: () => void): void {
    const f = this.f;
    f.i32(0); f.set(k);
    f.block(); this.open++;
    f.loop(); this.open++;
    cond(); f.op(Op.I32Eqz); f.brIf(1);
    f.get(k); f.i32(1); f.op(Op.I32Add); f.tee(k); f.i32(max); f.op(Op.I32GtU); this.failIf();
    step();
    f.br(0);
    f.end(); this.open--;
    f.end(); this.open--;
  }

  /** The end of a helper that took its case: `finish`, then return 1; the body is complete. */
  complete(opts: Parameters<Helper['finish']>[0]): FunctionBody {
    this.finish(opts);
    this.f.i32(1);
    this.succeed();
    return this.done();
  }

  /** Round the 128-bit significand hi:lo to 64 bits, to nearest even: c1 = rounded up, pe = inexact; a carry out gives 1.0 and exponent e + 1. */
  round64(hi: number, lo: number, e: number, c1: number, pe: number): void {
    const f = this.f;
    f.get(lo); f.op(Op.I64Eqz); f.op(Op.I32Eqz); f.set(pe);
    f.get(lo); f.i64(J_BIT); f.op(Op.I64GtU);
    f.get(lo); f.i64(J_BIT); f.op(Op.I64Eq);
    f.get(hi); f.op(Op.I32WrapI64); f.i32(1); f.op(Op.I32And);
    f.op(Op.I32And);
    f.op(Op.I32Or);
    f.tee(c1);
    f.op(Op.I64ExtendI32U);
    f.get(hi);
    f.op(Op.I64Add);
    f.tee(hi);
    f.op(Op.I64Eqz);
    this.if();
    f.i64(J_BIT); f.set(hi);
    f.get(e); f.i32(1); f.op(Op.I32Add); f.set(e);
    this.end();
  }
}

function loadMem(state: number): FunctionBody {
  const P_ADDR = 0, P_KIND = 1;
  const h = new Helper(state, 2);
  const f = h.f;
  const se = h.i32Local();
  const exp = h.i32Local();
  const bits32 = h.i32Local();
  const bits = h.i64Local();
  const sig = h.i64Local();
  const slot = h.i32Local();
  const v = h.i32Local();
  const n = h.i64Local();
  f.i32(MEM); f.set(slot);
  f.get(P_KIND); f.i32(2); f.op(Op.I32GeU);
  h.if();
  { // int32 (2) or int16 (3): exact
    f.get(P_KIND); f.i32(3); f.op(Op.I32Eq);
    h.if();
    f.get(P_ADDR); f.mem(Op.I32Load16S, 0, 0); f.set(v);
    h.else();
    f.get(P_ADDR); f.mem(Op.I32Load, 0, 0); f.set(v);
    h.end();
    f.get(v); f.i32(31); f.op(Op.I32ShrU); f.i32(15); f.op(Op.I32Shl); f.set(se);
    f.get(v); f.op(Op.I64ExtendI32S); f.set(bits);
    f.i64(0n); f.get(bits); f.op(Op.I64Sub); f.get(bits); f.get(v); f.i32(0); f.op(Op.I32LtS); f.op(Op.Select); f.set(bits); // |v|
    f.get(v); f.op(Op.I32Eqz);
    h.if();
    f.i32(0); f.set(se); // +0
    f.i64(0n); f.set(sig);
    h.else();
    f.get(bits); f.op(Op.I64Clz); f.set(n);
    f.get(bits); f.get(n); f.op(Op.I64Shl); f.set(sig);
    f.get(se); f.i32(63 + BIAS); f.get(n); f.op(Op.I32WrapI64); f.op(Op.I32Sub); f.op(Op.I32Or); f.set(se);
    h.end();
  }
  h.else();
  f.get(P_KIND);
  h.if();
  { // single
    f.get(P_ADDR); f.mem(Op.I32Load, 0, 0); f.set(bits32);
    f.get(bits32); f.i32(23); f.op(Op.I32ShrU); f.i32(0xff); f.op(Op.I32And); f.tee(exp);
    f.i32(0xff); f.op(Op.I32Eq); h.failIf();
    f.get(bits32); f.i32(31); f.op(Op.I32ShrU); f.i32(15); f.op(Op.I32Shl); f.set(se);
    f.get(exp); f.op(Op.I32Eqz);
    h.if();
    f.get(bits32); f.i32(1); f.op(Op.I32Shl); h.failIf(); // denormal
    f.i64(0n); f.set(sig);
    h.else();
    f.get(se); f.get(exp); f.i32(BIAS - 127); f.op(Op.I32Add); f.op(Op.I32Or); f.set(se);
    f.get(bits32); f.i32(0x7fffff); f.op(Op.I32And); f.op(Op.I64ExtendI32U); f.i64(40n); f.op(Op.I64Shl);
    f.i64(J_BIT); f.op(Op.I64Or); f.set(sig);
    h.end();
  }
  h.else();
  { // double
    f.get(P_ADDR); f.mem(Op.I64Load, 0, 0); f.set(bits);
    f.get(bits); f.i64(52n); f.op(Op.I64ShrU); f.op(Op.I32WrapI64); f.i32(0x7ff); f.op(Op.I32And); f.tee(exp);
    f.i32(0x7ff); f.op(Op.I32Eq); h.failIf();
    f.get(bits); f.i64(63n); f.op(Op.I64ShrU); f.op(Op.I32WrapI64); f.i32(15); f.op(Op.I32Shl); f.set(se);
    f.get(exp); f.op(Op.I32Eqz);
    h.if();
    f.get(bits); f.i64(1n); f.op(Op.I64Shl); f.op(Op.I64Eqz); f.op(Op.I32Eqz); h.failIf(); // denormal
    f.i64(0n); f.set(sig);
    h.else();
    f.get(se); f.get(exp); f.i32(BIAS - 1023); f.op(Op.I32Add); f.op(Op.I32Or); f.set(se);
    f.get(bits); f.i64(11n); f.op(Op.I64Shl); f.i64(J_BIT); f.op(Op.I64Or); f.set(sig);
    h.end();
  }
  h.end();
  h.end();
  h.storeSlot(slot, se, sig);
  f.i32(1);
  h.succeed();
  return h.done();
}

function arith(state: number): FunctionBody {
  const P_OP = 0, P_D = 1, P_S = 2, P_POP = 3, P_EIP = 4, P_FOP = 5, P_FDP = 6;
  const h = new Helper(state, 7);
  const f = h.f;
  h.prologue();
  const pd = h.i32Local();
  const ps = h.i32Local();
  const seA = h.i32Local();
  const seB = h.i32Local();
  const e = h.i32Local();
  const sign = h.i32Local();
  const c1 = h.i32Local();
  const pe = h.i32Local();
  const t = h.i32Local();
  const sigA = h.i64Local();
  const sigB = h.i64Local();
  const hi = h.i64Local();
  const lo = h.i64Local();
  const t1 = h.i64Local();
  const t2 = h.i64Local();
  const t3 = h.i64Local();
  const t4 = h.i64Local();
  const nhi = h.i64Local();
  const nlo = h.i64Local();
  const rhi = h.i64Local();
  const rlo = h.i64Local();
  const phi = h.i64Local();
  const plo = h.i64Local();
  h.phys(() => f.get(P_D)); f.set(pd);
  h.failIfEmpty(pd);
  // s = 8 names slot MEM; (empty >> 8) & 1 is 0, so the empty test passes for it.
  f.i32(MEM);
  h.phys(() => f.get(P_S));
  f.get(P_S); f.i32(MEM); f.op(Op.I32Eq);
  f.op(Op.Select);
  f.set(ps);
  h.failIfEmpty(ps);
  h.loadSlot(pd, seA, sigA);
  h.loadSlot(ps, seB, sigB);
  // Normal or zero operands (zeros give exact results below).
  h.isNormal(seA, sigA); h.isZero(seA, sigA); f.op(Op.I32Or);
  h.isNormal(seB, sigB); h.isZero(seB, sigB); f.op(Op.I32Or);
  f.op(Op.I32And); f.op(Op.I32Eqz); h.failIf();
  // subr and divr (b - a, b / a): swap the operands.
  f.get(P_OP); f.i32(5); f.op(Op.I32Eq);
  f.get(P_OP); f.i32(7); f.op(Op.I32Eq);
  f.op(Op.I32Or);
  h.if();
  f.get(seA); f.set(t); f.get(seB); f.set(seA); f.get(t); f.set(seB);
  f.get(sigA); f.set(t1); f.get(sigB); f.set(sigA); f.get(t1); f.set(sigB);
  h.end();
  const finishArith = (withFlags: boolean): void => {
    h.storeSlot(pd, seA, hi);
    h.markValid(pd);
    h.finish({
      pe: withFlags ? pe : undefined, c1: withFlags ? c1 : undefined, pop: P_POP, eip: P_EIP, fop: P_FOP, fdp: P_FDP,
      fdpWhen: () => { f.get(P_S); f.i32(MEM); f.op(Op.I32Eq); },
    });
    f.i32(1);
    h.succeed();
  };
  // A zero operand: the result is exact (C1 = 0, no PE), a zero or the other operand.
  h.isZero(seA, sigA); h.isZero(seB, sigB); f.op(Op.I32Or);
  h.if();
  {
    f.get(seA); f.i32(15); f.op(Op.I32ShrU); f.set(sign); // sign of A
    f.get(seB); f.i32(15); f.op(Op.I32ShrU); f.set(t); // sign of B
    f.get(P_OP); f.i32(1); f.op(Op.I32Eq);
    f.get(P_OP); f.i32(6); f.op(Op.I32GeU);
    f.op(Op.I32Or);
    h.if();
    // x * 0, 0 / x: a zero with the signs' xor (x / 0 and 0 / 0 raise ZE or IE: the interpreter's).
    h.isZero(seB, sigB); f.get(P_OP); f.i32(6); f.op(Op.I32GeU); f.op(Op.I32And); h.failIf();
    f.get(sign); f.get(t); f.op(Op.I32Xor); f.i32(15); f.op(Op.I32Shl); f.set(seA);
    f.i64(0n); f.set(hi);
    h.else();
    // A + B or A - B (B's sign flipped): with both zero, -0 only when both are negative (to nearest).
    f.get(t); f.get(P_OP); f.i32(4); f.op(Op.I32GeU); f.op(Op.I32Xor); f.set(t);
    h.isZero(seA, sigA);
    h.if();
    h.isZero(seB, sigB);
    h.if();
    f.get(sign); f.get(t); f.op(Op.I32And); f.i32(15); f.op(Op.I32Shl); f.set(seA);
    f.i64(0n); f.set(hi);
    h.else();
    f.get(seB); f.i32(0x7fff); f.op(Op.I32And); f.get(t); f.i32(15); f.op(Op.I32Shl); f.op(Op.I32Or); f.set(seA);
    f.get(sigB); f.set(hi);
    h.end();
    h.else();
    f.get(sigA); f.set(hi); // A + 0 = A
    h.end();
    h.end();
    finishArith(false);
  }
  h.end();
  f.get(P_OP); f.i32(6); f.op(Op.I32GeU);
  h.if();
  divide(h, { seA, seB, sigA, sigB, e, sign, t, hi, lo, t1, t2, t3, t4, n: [nhi, nlo], r: [rhi, rlo], p: [phi, plo] });
  h.else();
  f.get(P_OP); f.i32(1); f.op(Op.I32Eq);
  h.if();
  { // multiply: the 128-bit product of the significands from four 32x32 products
    f.get(seA); f.i32(0x7fff); f.op(Op.I32And);
    f.get(seB); f.i32(0x7fff); f.op(Op.I32And);
    f.op(Op.I32Add); f.i32(BIAS - 1); f.op(Op.I32Sub); f.set(e);
    f.get(seA); f.get(seB); f.op(Op.I32Xor); f.i32(15); f.op(Op.I32ShrU); f.i32(1); f.op(Op.I32And); f.set(sign);
    h.mul128(sigA, sigB, hi, lo, [t1, t2, t3, t4]);
    // The product of two significands in [1, 2) lies in [1, 4): at most one bit to normalise.
    f.get(hi); f.i64(63n); f.op(Op.I64ShrU); f.op(Op.I64Eqz);
    h.if();
    f.get(hi); f.i64(1n); f.op(Op.I64Shl); f.get(lo); f.i64(63n); f.op(Op.I64ShrU); f.op(Op.I64Or); f.set(hi);
    f.get(lo); f.i64(1n); f.op(Op.I64Shl); f.set(lo);
    f.get(e); f.i32(1); f.op(Op.I32Sub); f.set(e);
    h.end();
  }
  h.else();
  { // add, sub (a - b), subr (b - a): x is the operand of larger magnitude, y is aligned under it
    // sign of the operation's second operand (negated for sub and subr, already swapped): c1 is scratch here
    f.get(seB); f.i32(15); f.op(Op.I32ShrU);
    f.get(P_OP); f.i32(4); f.op(Op.I32GeU); // 4 or 5 subtract
    f.op(Op.I32Xor); f.set(c1);
    f.get(seA); f.i32(15); f.op(Op.I32ShrU); f.set(sign);
    // B bigger in magnitude: swap (with its effective sign)
    f.get(seB); f.i32(0x7fff); f.op(Op.I32And); f.get(seA); f.i32(0x7fff); f.op(Op.I32And); f.op(Op.I32GtU);
    f.get(seB); f.i32(0x7fff); f.op(Op.I32And); f.get(seA); f.i32(0x7fff); f.op(Op.I32And); f.op(Op.I32Eq);
    f.get(sigB); f.get(sigA); f.op(Op.I64GtU); f.op(Op.I32And);
    f.op(Op.I32Or);
    h.if();
    f.get(seA); f.set(t); f.get(seB); f.set(seA); f.get(t); f.set(seB);
    f.get(sigA); f.set(t1); f.get(sigB); f.set(sigA); f.get(t1); f.set(sigB);
    f.get(sign); f.set(t); f.get(c1); f.set(sign); f.get(t); f.set(c1);
    h.end();
    // now x = (sign, seA, sigA), y = (c1, seB, sigB); d = exponent difference
    f.get(seA); f.i32(0x7fff); f.op(Op.I32And); f.tee(e);
    f.get(seB); f.i32(0x7fff); f.op(Op.I32And); f.op(Op.I32Sub); f.tee(t);
    f.i32(63); f.op(Op.I32GtU); h.failIf(); // far apart: the interpreter's code aligns with a sticky bit
    // y >> d as the 128-bit yHi:yLo (t2:t3)
    f.get(sigB); f.get(t); f.op(Op.I64ExtendI32U); f.op(Op.I64ShrU); f.set(t2);
    f.i64(0n);
    f.get(sigB); f.i32(64); f.get(t); f.op(Op.I32Sub); f.op(Op.I64ExtendI32U); f.op(Op.I64Shl);
    f.get(t); f.op(Op.I32Eqz);
    f.op(Op.Select); // d = 0: nothing shifted out (a shift by 64 would be a shift by 0)
    f.set(t3);
    f.get(sign); f.get(c1); f.op(Op.I32Eq);
    h.if();
    { // same signs: add, a carry out shifts right once keeping the lost bit as sticky
      f.get(sigA); f.get(t2); f.op(Op.I64Add); f.set(hi);
      f.get(t3); f.set(lo);
      f.get(hi); f.get(sigA); f.op(Op.I64LtU);
      h.if();
      f.get(lo); f.i64(1n); f.op(Op.I64ShrU);
      f.get(lo); f.i64(1n); f.op(Op.I64And); f.op(Op.I64Or);
      f.get(hi); f.i64(63n); f.op(Op.I64Shl); f.op(Op.I64Or);
      f.set(lo);
      f.get(hi); f.i64(1n); f.op(Op.I64ShrU); f.i64(J_BIT); f.op(Op.I64Or); f.set(hi);
      f.get(e); f.i32(1); f.op(Op.I32Add); f.set(e);
      h.end();
    }
    h.else();
    { // different signs: (x:0) - (yHi:yLo), then normalise
      f.i64(0n); f.get(t3); f.op(Op.I64Sub); f.set(lo);
      f.get(sigA); f.get(t2); f.op(Op.I64Sub);
      f.get(t3); f.op(Op.I64Eqz); f.op(Op.I32Eqz); f.op(Op.I64ExtendI32U); f.op(Op.I64Sub);
      f.tee(hi);
      f.op(Op.I64Eqz); h.failIf(); // (near) cancellation to zero: the interpreter's code
      f.get(hi); f.op(Op.I64Clz); f.tee(t4);
      f.op(Op.I64Eqz); f.op(Op.I32Eqz);
      h.if();
      f.get(hi); f.get(t4); f.op(Op.I64Shl);
      f.get(lo); f.i64(64n); f.get(t4); f.op(Op.I64Sub); f.op(Op.I64ShrU);
      f.op(Op.I64Or); f.set(hi);
      f.get(lo); f.get(t4); f.op(Op.I64Shl); f.set(lo);
      f.get(e); f.get(t4); f.op(Op.I32WrapI64); f.op(Op.I32Sub); f.set(e);
      h.end();
    }
    h.end();
  }
  h.end();
  h.end(); // divide / the rest
  // A result well inside the range (as the interpreter's regRangeOk): biased 1..7FFD before rounding.
  f.get(e); f.i32(1); f.op(Op.I32Sub); f.i32(0x7ffd - 1); f.op(Op.I32GtU); h.failIf();
  h.round64(hi, lo, e, c1, pe);
  f.get(sign); f.i32(15); f.op(Op.I32Shl); f.get(e); f.op(Op.I32Or); f.set(seA);
  finishArith(true);
  return h.done();
}

/** The largest double below 2^64: quotient and root estimates are clamped to it so that the conversion to u64 cannot trap. */
const MAX_U64_DOUBLE = 18446744073709549568;
const ABOVE_HALF = -(1n << 62n); // 0xC000...: a remainder above half an ulp, as a 64-bit fraction

interface DivideLocals {
  seA: number; seB: number; sigA: number; sigB: number; e: number; sign: number; t: number; hi: number; lo: number;
  t1: number; t2: number; t3: number; t4: number; n: [number, number]; r: [number, number]; p: [number, number];
}

/**
 * a / b for normal operands: the quotient of the significands to 64 bits
 * in hi, and in lo a stand-in fraction for rounding (0, below half, half,
 * above half) from the exact remainder. The quotient starts from a double
 * estimate (within about 2^12), takes one correction from the exact
 * remainder N - q * b, and ends with exact +-1 steps.
 */
function divide(h: Helper, l: DivideLocals): void {
  const f = h.f;
  const { seA, seB, sigA, sigB, e, sign, t, hi, lo } = l;
  const [nhi, nlo] = l.n;
  const [rhi, rlo] = l.r;
  const [phi, plo] = l.p;
  const temps = [l.t1, l.t2, l.t3, l.t4] as const;
  f.get(seA); f.i32(0x7fff); f.op(Op.I32And);
  f.get(seB); f.i32(0x7fff); f.op(Op.I32And);
  f.op(Op.I32Sub); f.i32(BIAS); f.op(Op.I32Add); f.set(e);
  f.get(seA); f.get(seB); f.op(Op.I32Xor); f.i32(15); f.op(Op.I32ShrU); f.i32(1); f.op(Op.I32And); f.set(sign);
  // N = a * 2^63 when a >= b (quotient in [1, 2)), else a * 2^64 and one less in the exponent.
  f.get(sigA); f.get(sigB); f.op(Op.I64GeU); f.tee(t);
  h.if();
  f.get(sigA); f.i64(1n); f.op(Op.I64ShrU); f.set(nhi);
  f.get(sigA); f.i64(63n); f.op(Op.I64Shl); f.set(nlo);
  h.else();
  f.get(sigA); f.set(nhi);
  f.i64(0n); f.set(nlo);
  f.get(e); f.i32(1); f.op(Op.I32Sub); f.set(e);
  h.end();
  f.get(sigA); f.op(Op.F64ConvertI64U); f.get(sigB); f.op(Op.F64ConvertI64U); f.op(Op.F64Div);
  f.f64(2 ** 63); f.f64(2 ** 64); f.get(t); f.op(Op.Select); f.op(Op.F64Mul);
  f.f64(MAX_U64_DOUBLE); f.op(Op.F64Min);
  f.op(Op.I64TruncF64U); f.set(hi);
  const remainder = (): void => {
    h.mul128(hi, sigB, phi, plo, temps);
    h.sub128(nhi, nlo, phi, plo, rhi, rlo);
  };
  remainder();
  h.toF64(rhi, rlo); f.get(sigB); f.op(Op.F64ConvertI64U); f.op(Op.F64Div); f.op(Op.I64TruncF64S);
  f.get(hi); f.op(Op.I64Add); f.set(hi);
  remainder();
  h.boundedWhile(t, 4, () => { f.get(rhi); f.i64(0n); f.op(Op.I64LtS); }, () => {
    f.get(hi); f.i64(1n); f.op(Op.I64Sub); f.set(hi);
    h.add128(rhi, rlo, () => f.i64(0n), () => f.get(sigB));
  });
  h.boundedWhile(t, 4, () => {
    f.get(rhi); f.op(Op.I64Eqz); f.op(Op.I32Eqz);
    f.get(rlo); f.get(sigB); f.op(Op.I64GeU);
    f.op(Op.I32Or);
  }, () => {
    f.get(hi); f.i64(1n); f.op(Op.I64Add); f.set(hi);
    h.add128(rhi, rlo, () => f.i64(-1n), () => { f.i64(0n); f.get(sigB); f.op(Op.I64Sub); });
  });
  // 0 <= r < b: compare r with b - r for the rounding fraction.
  f.get(sigB); f.get(rlo); f.op(Op.I64Sub); f.set(l.t1);
  f.i64(ABOVE_HALF);
  f.i64(J_BIT);
  f.i64(1n); f.i64(0n); f.get(rlo); f.op(Op.I64Eqz); f.op(Op.I32Eqz); f.op(Op.Select);
  f.get(rlo); f.get(l.t1); f.op(Op.I64Eq); f.op(Op.Select);
  f.get(rlo); f.get(l.t1); f.op(Op.I64GtU); f.op(Op.Select);
  f.set(lo);
}

/** FSQRT of a positive normal ST(0) (D9 FA). */
function sqrt(state: number): FunctionBody {
  const P_EIP = 0, P_FOP = 1;
  const h = new Helper(state, 2);
  const f = h.f;
  h.prologue();
  const se = h.i32Local();
  const e = h.i32Local();
  const k = h.i32Local();
  const c1 = h.i32Local();
  const pe = h.i32Local();
  const m = h.i64Local();
  const q = h.i64Local();
  const nhi = h.i64Local();
  const nlo = h.i64Local();
  const rhi = h.i64Local();
  const rlo = h.i64Local();
  const phi = h.i64Local();
  const plo = h.i64Local();
  const lo = h.i64Local();
  const temps = [h.i64Local(), h.i64Local(), h.i64Local(), h.i64Local()] as const;
  h.failIfEmpty(h.top);
  h.loadSlot(h.top, se, m);
  h.isNormal(se, m); f.get(se); f.i32(15); f.op(Op.I32ShrU); f.op(Op.I32Eqz); f.op(Op.I32And); f.op(Op.I32Eqz); h.failIf();
  // value = m * 2^(E - 63); the root's significand is isqrt(N) with N = m * 2^63 (E even) or m * 2^64 (E odd).
  f.get(se); f.i32(0x7fff); f.op(Op.I32And); f.i32(BIAS); f.op(Op.I32Sub); f.tee(e);
  f.i32(1); f.op(Op.I32And);
  h.if();
  f.get(m); f.set(nhi);
  f.i64(0n); f.set(nlo);
  h.else();
  f.get(m); f.i64(1n); f.op(Op.I64ShrU); f.set(nhi);
  f.get(m); f.i64(63n); f.op(Op.I64Shl); f.set(nlo);
  h.end();
  f.get(e); f.i32(1); f.op(Op.I32ShrS); f.i32(BIAS); f.op(Op.I32Add); f.set(e);
  f.get(nhi); f.op(Op.F64ConvertI64U); f.f64(2 ** 64); f.op(Op.F64Mul); f.op(Op.F64Sqrt);
  f.f64(MAX_U64_DOUBLE); f.op(Op.F64Min);
  f.op(Op.I64TruncF64U); f.set(q);
  const remainder = (): void => {
    h.mul128(q, q, phi, plo, temps);
    h.sub128(nhi, nlo, phi, plo, rhi, rlo);
  };
  remainder();
  // One Newton step on the exact remainder: q += r / 2q.
  h.toF64(rhi, rlo); f.get(q); f.op(Op.F64ConvertI64U); f.f64(2); f.op(Op.F64Mul); f.op(Op.F64Div); f.op(Op.I64TruncF64S);
  f.get(q); f.op(Op.I64Add); f.set(q);
  remainder();
  // (q + 1)^2 = q^2 + 2q + 1: step until 0 <= r < 2q + 1.
  const twoQPlusOneHi = (): void => { f.get(q); f.i64(63n); f.op(Op.I64ShrU); };
  const twoQPlusOneLo = (): void => { f.get(q); f.i64(1n); f.op(Op.I64Shl); f.i64(1n); f.op(Op.I64Or); };
  h.boundedWhile(k, 4, () => { f.get(rhi); f.i64(0n); f.op(Op.I64LtS); }, () => {
    f.get(q); f.i64(1n); f.op(Op.I64Sub); f.set(q);
    h.add128(rhi, rlo, twoQPlusOneHi, twoQPlusOneLo);
  });
  h.boundedWhile(k, 4, () => {
    f.get(rhi); twoQPlusOneHi(); f.op(Op.I64GtU);
    f.get(rhi); twoQPlusOneHi(); f.op(Op.I64Eq);
    f.get(rlo); twoQPlusOneLo(); f.op(Op.I64GeU);
    f.op(Op.I32And);
    f.op(Op.I32Or);
  }, () => {
    h.add128(rhi, rlo, () => { f.i64(0n); twoQPlusOneHi(); f.op(Op.I64Sub); f.i64(1n); f.op(Op.I64Sub); },
      () => { f.i64(0n); twoQPlusOneLo(); f.op(Op.I64Sub); });
    f.get(q); f.i64(1n); f.op(Op.I64Add); f.set(q);
  });
  // Rounding: above half an ulp when r > q (exactly half is impossible).
  f.i64(ABOVE_HALF);
  f.i64(1n); f.i64(0n);
  f.get(rhi); f.get(rlo); f.op(Op.I64Or); f.op(Op.I64Eqz); f.op(Op.I32Eqz);
  f.op(Op.Select);
  f.get(rhi); f.op(Op.I64Eqz); f.op(Op.I32Eqz);
  f.get(rlo); f.get(q); f.op(Op.I64GtU);
  f.op(Op.I32Or);
  f.op(Op.Select);
  f.set(lo);
  h.round64(q, lo, e, c1, pe);
  h.storeSlot(h.top, e, q);
  return h.complete({ pe, c1, eip: P_EIP, fop: P_FOP });
}

function ld(state: number): FunctionBody {
  const P_SRC = 0, P_EIP = 1, P_FOP = 2, P_FDP = 3;
  const h = new Helper(state, 4);
  const f = h.f;
  h.prologue();
  const q = h.i32Local();
  const p = h.i32Local();
  const se = h.i32Local();
  const sig = h.i64Local();
  // The register a push writes, ST(7), must be empty (else: stack overflow).
  h.phys(() => f.i32(7)); f.set(q);
  f.get(h.empty); f.get(q); f.op(Op.I32ShrU); f.i32(1); f.op(Op.I32And); f.op(Op.I32Eqz); h.failIf();
  f.get(P_SRC); f.i32(MEM); f.op(Op.I32GtU);
  h.if();
  { // +0 (9) or +1 (10)
    f.i32(0x3fff); f.i32(0); f.get(P_SRC); f.i32(10); f.op(Op.I32Eq); f.op(Op.Select); f.set(se);
    f.i64(J_BIT); f.i64(0n); f.get(P_SRC); f.i32(10); f.op(Op.I32Eq); f.op(Op.Select); f.set(sig);
  }
  h.else();
  {
    f.i32(MEM);
    h.phys(() => f.get(P_SRC));
    f.get(P_SRC); f.i32(MEM); f.op(Op.I32Eq);
    f.op(Op.Select);
    f.set(p);
    h.failIfEmpty(p);
    h.loadSlot(p, se, sig);
  }
  h.end();
  h.storeSlot(q, se, sig);
  h.markValid(q);
  f.get(q); f.set(h.top);
  return h.complete({
    eip: P_EIP, fop: P_FOP, fdp: P_FDP,
    fdpWhen: () => { f.get(P_SRC); f.i32(MEM); f.op(Op.I32Eq); },
  });
}

/** FST(P) m64 (kind 0) or m32 (kind 1) of a normal ST(0) whose rounded value is a normal double or single. */
function stMem(state: number): FunctionBody {
  const P_ADDR = 0, P_KIND = 1, P_POP = 2, P_EIP = 3, P_FOP = 4, P_FDP = 5;
  const h = new Helper(state, 6);
  const f = h.f;
  h.prologue();
  const se = h.i32Local();
  const e = h.i32Local();
  const c1 = h.i32Local();
  const pe = h.i32Local();
  const sig = h.i64Local();
  const rem = h.i64Local();
  const m = h.i64Local();
  h.failIfEmpty(h.top);
  h.loadSlot(h.top, se, sig);
  h.isNormal(se, sig); f.op(Op.I32Eqz); h.failIf();
  f.get(se); f.i32(0x7fff); f.op(Op.I32And); f.i32(BIAS); f.op(Op.I32Sub); f.set(e);
  /** Round to `bits` significand bits (to nearest even) and store the format with exponent bias `bias`. */
  const format = (bits: number, bias: number): void => {
    const drop = BigInt(64 - bits);
    const half = 1n << (drop - 1n);
    // Normal whatever the rounding: unbiased exponent within +-(bias - 1) (as fastToDouble/fastToSingle).
    f.get(e); f.i32(bias - 1); f.op(Op.I32Add); f.i32(2 * (bias - 1)); f.op(Op.I32GtU); h.failIf();
    f.get(sig); f.i64((1n << drop) - 1n); f.op(Op.I64And); f.tee(rem);
    f.op(Op.I64Eqz); f.op(Op.I32Eqz); f.set(pe);
    f.get(sig); f.i64(drop); f.op(Op.I64ShrU); f.set(m);
    f.get(rem); f.i64(half); f.op(Op.I64GtU);
    f.get(rem); f.i64(half); f.op(Op.I64Eq);
    f.get(m); f.op(Op.I32WrapI64); f.i32(1); f.op(Op.I32And);
    f.op(Op.I32And); f.op(Op.I32Or); f.tee(c1);
    f.op(Op.I64ExtendI32U); f.get(m); f.op(Op.I64Add); f.tee(m);
    f.i64(BigInt(bits)); f.op(Op.I64ShrU); f.op(Op.I64Eqz); f.op(Op.I32Eqz);
    h.if(); // all ones rounded up: 1.0 x 2^(e+1)
    f.i64(1n << BigInt(bits - 1)); f.set(m);
    f.get(e); f.i32(1); f.op(Op.I32Add); f.set(e);
    h.end();
    const fraction = BigInt(bits - 1);
    f.get(P_ADDR);
    if (bits === 53) {
      f.get(se); f.i32(15); f.op(Op.I32ShrU); f.op(Op.I64ExtendI32U); f.i64(63n); f.op(Op.I64Shl);
      f.get(e); f.i32(bias); f.op(Op.I32Add); f.op(Op.I64ExtendI32U); f.i64(fraction); f.op(Op.I64Shl); f.op(Op.I64Or);
      f.get(m); f.i64((1n << fraction) - 1n); f.op(Op.I64And); f.op(Op.I64Or);
      f.mem(Op.I64Store, 0, 0);
    } else {
      f.get(se); f.i32(15); f.op(Op.I32ShrU); f.i32(31); f.op(Op.I32Shl);
      f.get(e); f.i32(bias); f.op(Op.I32Add); f.i32(bits - 1); f.op(Op.I32Shl); f.op(Op.I32Or);
      f.get(m); f.op(Op.I32WrapI64); f.i32((1 << (bits - 1)) - 1); f.op(Op.I32And); f.op(Op.I32Or);
      f.mem(Op.I32Store, 0, 0);
    }
  };
  f.get(P_KIND);
  h.if();
  format(24, 127);
  h.else();
  format(53, 1023);
  h.end();
  return h.complete({ pe, c1, pop: P_POP, eip: P_EIP, fop: P_FOP, fdp: P_FDP });
}

function stReg(state: number): FunctionBody {
  const P_I = 0, P_POP = 1, P_EIP = 2, P_FOP = 3;
  const h = new Helper(state, 4);
  const f = h.f;
  h.prologue();
  const p = h.i32Local();
  const se = h.i32Local();
  const sig = h.i64Local();
  h.failIfEmpty(h.top);
  h.phys(() => f.get(P_I)); f.set(p);
  h.loadSlot(h.top, se, sig);
  h.storeSlot(p, se, sig);
  h.markValid(p);
  return h.complete({ pop: P_POP, eip: P_EIP, fop: P_FOP });
}

function xch(state: number): FunctionBody {
  const P_I = 0, P_EIP = 1, P_FOP = 2;
  const h = new Helper(state, 3);
  h.prologue();
  const { q, seA, seB, sigA, sigB } = h.loadTopAndSti(P_I);
  h.storeSlot(h.top, seB, sigB);
  h.storeSlot(q, seA, sigA);
  return h.complete({ raise: false, eip: P_EIP, fop: P_FOP });
}

function sign(state: number): FunctionBody {
  const P_KIND = 0, P_EIP = 1, P_FOP = 2;
  const h = new Helper(state, 3);
  const f = h.f;
  h.prologue();
  h.failIfEmpty(h.top);
  // se[top] ^ 0x8000 (FCHS) or & 0x7FFF (FABS), whatever the value's class.
  const se = h.i32Local();
  f.get(h.top); f.i32(1); f.op(Op.I32Shl);
  f.get(h.top); f.i32(1); f.op(Op.I32Shl);
  f.mem(Op.I32Load16U, 1, state + ST_X87 + X87_SE);
  f.set(se);
  f.get(se); f.i32(0x7fff); f.op(Op.I32And);
  f.get(se); f.i32(0x8000); f.op(Op.I32Xor);
  f.get(P_KIND);
  f.op(Op.Select); // kind 1 (FABS) picks the first
  f.mem(Op.I32Store16, 1, state + ST_X87 + X87_SE);
  return h.complete({ eip: P_EIP, fop: P_FOP });
}

function comi(state: number): FunctionBody {
  const P_I = 0, P_POP = 1, P_EIP = 2, P_FOP = 3;
  const h = new Helper(state, 4, -1);
  const f = h.f;
  h.prologue();
  const { seA, seB, sigA, sigB } = h.loadTopAndSti(P_I);
  const sa = h.i32Local();
  const sb = h.i32Local();
  const r = h.i32Local();
  // Normal or zero operands only (no exception possible).
  h.isNormal(seA, sigA); h.isZero(seA, sigA); f.op(Op.I32Or);
  h.isNormal(seB, sigB); h.isZero(seB, sigB); f.op(Op.I32Or);
  f.op(Op.I32And); f.op(Op.I32Eqz); h.failIf();
  // Signs as -1 / 0 (zero) / 1, then magnitudes.
  const signOf = (se: number, sig: number, out: number): void => {
    f.i32(0);
    f.i32(1); f.get(se); f.i32(15); f.op(Op.I32ShrU); f.i32(1); f.op(Op.I32Shl); f.op(Op.I32Sub);
    h.isZero(se, sig);
    f.op(Op.Select);
    f.set(out);
  };
  signOf(seA, sigA, sa);
  signOf(seB, sigB, sb);
  f.get(sa); f.get(sb); f.op(Op.I32Ne);
  h.if();
  f.i32(-1); f.i32(1); f.get(sa); f.get(sb); f.op(Op.I32LtS); f.op(Op.Select); f.set(r);
  h.else();
  {
    // Same sign class: zero against zero is equal; otherwise compare magnitudes and apply the sign.
    const expA = (): void => { f.get(seA); f.i32(0x7fff); f.op(Op.I32And); };
    const expB = (): void => { f.get(seB); f.i32(0x7fff); f.op(Op.I32And); };
    expA(); expB(); f.op(Op.I32Ne);
    h.if();
    f.i32(-1); f.i32(1); expA(); expB(); f.op(Op.I32LtU); f.op(Op.Select); f.set(r);
    h.else();
    f.i32(-1); f.i32(1); f.get(sigA); f.get(sigB); f.op(Op.I64LtU); f.op(Op.Select);
    f.i32(0);
    f.get(sigA); f.get(sigB); f.op(Op.I64Ne);
    f.op(Op.Select);
    f.set(r);
    h.end();
    f.get(r); f.get(sa); f.op(Op.I32Mul); f.set(r); // sa = 0 (both zero) gives equal
  }
  h.end();
  h.finish({ pop: P_POP, eip: P_EIP, fop: P_FOP });
  // = : ZF; < : CF; > : none (PF, OF, SF, AF clear)
  f.i32(0x40);
  f.i32(1); f.i32(0); f.get(r); f.i32(-1); f.op(Op.I32Eq); f.op(Op.Select);
  f.get(r); f.op(Op.I32Eqz);
  f.op(Op.Select);
  h.succeed();
  return h.done();
}
