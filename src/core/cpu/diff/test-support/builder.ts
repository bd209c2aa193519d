/**
 * Snippet builder for the generator: x86 encoding helpers, a solver that
 * points random ModRM/SIB forms into the data or stack window, and the
 * post-layout analysis that decides which results of a case are defined.
 *
 * Model. A case is a list of instructions emitted by templates. Templates
 * may pin input registers (an address register must hold a value that makes
 * the operand land in a window); a register can only be pinned while no
 * earlier instruction writes it. After layout, a forward dataflow over the
 * snippet's control-flow graph computes, per instruction,
 *   - which registers / memory may have been written before it (so effect
 *     functions know which input values they can rely on),
 *   - which flags may be undefined on entry (reading one is rejected),
 *   - which registers / memory bytes may hold undefined results.
 * The final masks are what the comparator uses.
 */
import { Rng } from './prng.ts';
import {
  CODE_BASE, DATA_WIN, DATA_WIN_LEN, INITIAL_ESP, MAX_CODE, STACK_WIN, STACK_WIN_LEN, PAGE_SIZE,
} from './format.ts';
import { type UndefinedRuleId } from './undefined-masks.ts';

export const EAX = 0, ECX = 1, EDX = 2, EBX = 3, ESP = 4, EBP = 5, ESI = 6, EDI = 7;
export const bit = (r: number): number => 1 << r;
/** Full register touched by an 8-bit register number (AH..BH are 4..7). */
export const reg8Full = (r: number): number => r & 3;

export type Size = 8 | 16 | 32;
export const bytesOf = (s: Size): 1 | 2 | 4 => (s === 8 ? 1 : s === 16 ? 2 : 4);
export const maskOf = (s: Size): number => (s === 8 ? 0xff : s === 16 ? 0xffff : 0xffffffff);

/**
 * Thrown while building a case that cannot be completed: the generator starts
 * the case over. Deliberately not an Error: rejections are frequent and must
 * not pay for a stack trace.
 */
export class Reject {
  readonly why: string;
  constructor(why: string) {
    this.why = why;
  }
}

export interface Effect {
  /** Status flags this instruction always leaves defined. */
  def: number;
  /** Status flags it may leave undefined. */
  undef: number;
  /** Register bits it may leave undefined. */
  regUndef?: Array<[reg: number, mask: number]>;
  /** Memory it may leave undefined (absolute addresses). */
  memUndef?: Array<[addr: number, len: number]>;
  rules?: UndefinedRuleId[];
}

export const fx = (def: number, undef = 0, rules: UndefinedRuleId[] = []): Effect => ({ def, undef, rules });
export const NO_FX: Effect = { def: 0, undef: 0 };

/** Union over alternatives (e.g. every possible shift count): defined only if defined in all. */
export function unionFx(list: readonly Effect[]): Effect {
  let def = -1, undef = 0;
  const regUndef: Array<[number, number]> = [];
  const memUndef: Array<[number, number]> = [];
  const rules = new Set<UndefinedRuleId>();
  for (const e of list) {
    def &= e.def;
    undef |= e.undef;
    if (e.regUndef) regUndef.push(...e.regUndef);
    if (e.memUndef) memUndef.push(...e.memUndef);
    for (const r of e.rules ?? []) rules.add(r);
  }
  return { def: def & ~undef, undef, regUndef, memUndef, rules: [...rules] };
}

/** Input values an effect function may rely on (undefined: possibly overwritten before). */
export interface Known {
  reg(r: number): number | undefined;
  mem(addr: number, bytes: 1 | 2 | 4): number | undefined;
}

export interface MemOperand {
  kind: 'mem';
  /** Absolute linear address accessed. */
  addr: number;
  bytes: number;
  /** Registers used to form the address. */
  regsUsed: number;
  /** Registers whose input values the address depends on (must not be written earlier). */
  pinnedUse: number;
  /** Segment-override prefix or 0. */
  seg: number;
  /** 0x67 when the operand uses 16-bit addressing. */
  addr16: boolean;
  /** ModRM (+SIB +displacement) bytes for a given reg field. */
  encode(regField: number): number[];
}
export interface RegOperand { kind: 'reg'; reg: number }
export type Operand = RegOperand | MemOperand;

export interface Branch {
  /** Index of the target instruction (insns.length = end of snippet), resolved at layout. */
  target: number;
  relBytes: 1 | 2 | 4;
  conditional: boolean;
}

export interface Insn {
  /** Encoding; for relative branches the rel field is appended at layout. */
  bytes: number[];
  branch?: Branch;
  /** Indirect transfer to an instruction index (its absolute address is patched by `fixup`). */
  indirect?: { target: number };
  /** Unconditional transfer: no fall-through edge. */
  noFallthrough?: boolean;
  reads: number;
  writes: number;
  pinnedUse: number;
  flagsRead: number;
  memRead: boolean;
  memWrite: boolean;
  effect: Effect | ((k: Known) => Effect);
  fixup?: (at: Layout) => void;
  /** A push/pop: ESP stays statically known (the template updates espDelta). */
  keepsEspKnown?: boolean;
  /** Relies on the statically known ESP (stack ops, ESP-based operands). */
  needsEsp?: boolean;
  /** ESP - INITIAL_ESP the template assumed when it emitted this instruction (set by emit). */
  espAt?: number | undefined;
  /**
   * false for the later parts of multi-instruction idioms (the RET of PUSH
   * target; RET): branches never land there, they move on to the next
   * landing instruction.
   */
  landing?: boolean;
}

export interface Layout {
  /** Absolute address of instruction i (i = insns.length: end of snippet). */
  addrOf(i: number): number;
  /** Absolute address of the (resolved) indirect target of instruction i. */
  indirectTargetOf(i: number): number;
  /** Patches 4 bytes of instruction `i`'s encoding at byte index `at`. */
  patch32(i: number, at: number, value: number): void;
}

export interface InsnInfo {
  offset: number;
  length: number;
}

export interface CaseMasks {
  /** EFLAGS bits compared when the snippet completes. */
  flags: number;
  /** EFLAGS bits compared at a fault (any instruction may be the one that faults). */
  faultFlags: number;
  /** Per register: bits compared (completion and faults alike). */
  regs: Uint32Array;
  /** 1 = byte not compared. */
  dataUndef: Uint8Array | null;
  stackUndef: Uint8Array | null;
  rules: UndefinedRuleId[];
}

export interface BuiltSnippet {
  code: Uint8Array;
  codeOffset: number;
  regs: Uint32Array;
  eflags: number;
  data: Uint8Array;
  stack: Uint8Array;
  insns: InsnInfo[];
  masks: CaseMasks;
}

/** EFLAGS bits the comparator looks at: everything architectural except RF/VM (see compare.ts). */
export const COMPARED_FLAGS = 0x3f7fd7 & ~0x30000;

const EDGE32 = [
  0, 1, 2, 0x7f, 0x80, 0xff, 0x100, 0x7fff, 0x8000, 0xffff, 0x10000, 0x7fffffff, 0x80000000,
  0x80000001, 0xfffffffe, 0xffffffff, 0x55555555, 0xaaaaaaaa,
];
const EDGE16 = [0, 1, 0x7f, 0x80, 0xff, 0x100, 0x7fff, 0x8000, 0x8001, 0xfffe, 0xffff];
const EDGE8 = [0, 1, 0x0f, 0x10, 0x7f, 0x80, 0x81, 0xfe, 0xff, 0x09, 0x99, 0x9a];

export class Builder {
  readonly rng: Rng;
  readonly regs = new Uint32Array(8);
  pinned = bit(ESP);
  eflags: number;
  readonly data = new Uint8Array(DATA_WIN_LEN);
  readonly stack = new Uint8Array(STACK_WIN_LEN);
  /** Owner instruction of each input byte set up by setMem (data window, then stack window), -1 = none. */
  private readonly claims = new Int16Array(DATA_WIN_LEN + STACK_WIN_LEN).fill(-1);
  readonly insns: Insn[] = [];
  codeOffset = 0;
  /** The snippet deliberately runs past the end of the code page (it must fault there). */
  pageEnd = false;
  /** Registers written by instructions emitted so far (linear view). */
  writtenSoFar = 0;
  memWrittenSoFar = false;
  /** ESP - INITIAL_ESP at this point, when statically known. */
  espDelta: number | undefined = 0;
  /** DF at this point when statically known. */
  df: 0 | 1 | undefined;
  /** Segment registers (ES CS SS DS FS GS = bits 0..5) loaded by earlier instructions. */
  loadedSegs = 0;
  /** Registers templates should not pick as destinations (e.g. a loop counter). */

  protectedRegs = bit(ESP);

  constructor(rng: Rng) {
    this.rng = rng;
    for (let r = 0; r < 8; r++) this.regs[r] = this.value32();
    this.regs[ESP] = INITIAL_ESP;
    for (const win of [this.data, this.stack]) {
      for (let i = 0, n = win.length; i < n; i += 4) {
        const w = rng.u32();
        win[i] = w;
        win[i + 1] = w >>> 8;
        win[i + 2] = w >>> 16;
        win[i + 3] = w >>> 24;
      }
    }
    // Sprinkle edge values (0, 0x7f, 0x80, 0xff, BCD digits...) over the data window.
    const data = this.data;
    for (let k = 0, n = rng.int(80); k < n; k++) data[rng.int(data.length)] = rng.pick(EDGE8);
    // Random status flags and DF; IF is set like in any Linux process, TF never.
    this.eflags = 0x202 | (this.rng.u32() & 0x8d5) | (this.rng.bool(0.3) ? 0x400 : 0);
    this.df = (this.eflags & 0x400) !== 0 ? 1 : 0;
  }

  // ---------------------------------------------------------------- values

  value32(): number {
    const r = this.rng;
    switch (r.int(7)) {
      case 0: return r.pick(EDGE32) >>> 0;
      case 1: return ((r.u32() & 0xffff0000) | r.pick(EDGE16)) >>> 0;
      case 2: return ((r.u32() & 0xffffff00) | r.pick(EDGE8)) >>> 0;
      case 3: return r.int(64);
      case 4: return (-1 - r.int(64)) >>> 0;
      default: return r.u32();
    }
  }

  value(size: Size): number {
    if (size === 32) return this.value32();
    if (size === 16) return this.rng.bool(0.35) ? this.rng.pick(EDGE16) : this.rng.int(0x10000);
    return this.rng.bool(0.35) ? this.rng.pick(EDGE8) : this.rng.int(0x100);
  }

  /** Shift/rotate count: edges around the operand widths plus random bytes. */
  count(): number {
    return this.rng.bool(0.6) ? this.rng.pick([0, 1, 2, 3, 7, 8, 9, 15, 16, 17, 24, 31, 32, 33, 63, 64, 255]) : this.rng.int(256);
  }

  size(weights: readonly [number, number, number] = [1, 1, 2]): Size {
    const t = weights[0] + weights[1] + weights[2];
    const x = this.rng.int(t);
    return x < weights[0] ? 8 : x < weights[0] + weights[1] ? 16 : 32;
  }

  // ------------------------------------------------------------- registers

  isFree(r: number): boolean {
    return (this.writtenSoFar & bit(r)) === 0;
  }

  /** The input value of `r` if no instruction emitted so far writes it. */
  known(r: number): number | undefined {
    return this.isFree(r) ? this.regs[r] : undefined;
  }

  /** Fixes the input value of `r`. Rejects when that is impossible. */
  pin(r: number, v: number): void {
    v >>>= 0;
    if (!this.isFree(r)) throw new Reject(`pin ${r}: written earlier`);
    if ((this.pinned & bit(r)) !== 0 && this.regs[r] !== v) throw new Reject(`pin ${r}: pinned to another value`);
    this.pinned |= bit(r);
    this.regs[r] = v;
  }

  canPin(r: number, v: number): boolean {
    return this.isFree(r) && ((this.pinned & bit(r)) === 0 || this.regs[r] === v >>> 0);
  }

  /** Pins only the low `size` bits of `r` (an 8-bit number 4..7 means AH..BH). */
  pinPart(r: number, size: Size, v: number): void {
    if (size === 32) return this.pin(r, v);
    const full = size === 8 ? reg8Full(r) : r;
    const shift = size === 8 && r >= 4 ? 8 : 0;
    const m = (maskOf(size) << shift) >>> 0;
    const cur = this.regs[full]!;
    const nv = ((cur & ~m) | ((v << shift) & m)) >>> 0;
    this.pin(full, nv);
  }

  /** A register for a data operand; avoids protected registers when it will be written. */
  reg(size: Size, write: boolean, avoid = 0): number {
    for (let i = 0; i < 20; i++) {
      const r = this.rng.int(8);
      const full = size === 8 ? reg8Full(r) : r;
      if ((avoid & bit(full)) !== 0) continue;
      if (write && (this.protectedRegs & bit(full)) !== 0) {
        // ESP is protected for stack users, but may be an arithmetic destination now and then.
        const espOk = full === ESP && this.rng.bool(0.05);
        if (!espOk) continue;
      }
      return r;
    }
    throw new Reject('no register');
  }

  /** Register operand or memory operand in the data window. */
  rm(size: Size, write: boolean, pMem = 0.45, avoid = 0): Operand {
    if (this.rng.bool(pMem)) return this.mem(bytesOf(size), { write, avoid });
    return { kind: 'reg', reg: this.reg(size, write, avoid) };
  }

  // ---------------------------------------------------------------- memory

  /** Picks an address for `bytes` bytes inside a window. */
  pickAddr(bytes: number, region: 'data' | 'stack' = 'data'): number {
    const base = region === 'data' ? DATA_WIN : STACK_WIN;
    const len = region === 'data' ? DATA_WIN_LEN : STACK_WIN_LEN;
    let off = this.rng.int(len - bytes + 1);
    if (this.rng.bool(0.5)) off -= off % bytes;
    return base + off;
  }

  /**
   * A memory operand for `bytes` bytes at `addr` (default: random in the data
   * window) using a random 32-bit addressing form; pins the registers used.
   */
  mem(bytes: number, opts: { addr?: number; write?: boolean; avoid?: number; noSeg?: boolean; region?: 'data' | 'stack' } = {}): MemOperand {
    const addr = opts.addr ?? this.pickAddr(bytes, opts.region);
    const avoid = (opts.avoid ?? 0) | bit(ESP);
    let seg = 0;
    if (!opts.noSeg && this.rng.bool(0.25)) {
      seg = this.rng.pick(opts.write ? [0x26, 0x36, 0x3e] : [0x26, 0x2e, 0x36, 0x3e]);
    }
    for (let attempt = 0; attempt < 12; attempt++) {
      const m = this.tryForm(addr, bytes, avoid, seg);
      if (m !== undefined) return m;
    }
    return absMem(addr, bytes, seg);
  }

  private freeOrPinnedReg(avoid: number): number | undefined {
    const cands: number[] = [];
    for (let r = 0; r < 8; r++) if ((avoid & bit(r)) === 0 && this.isFree(r)) cands.push(r);
    return cands.length === 0 ? undefined : this.rng.pick(cands);
  }

  private tryForm(addr: number, bytes: number, avoid: number, seg: number): MemOperand | undefined {
    const r = this.rng;
    const form = r.int(9);
    if (form === 0) return absMem(addr, bytes, seg);
    const useEsp = this.espDelta !== undefined && r.bool(0.12);
    const sib = form >= 4 || useEsp;
    const dispKind: 0 | 1 | 4 = form === 1 || form === 4 ? 0 : form === 2 || form === 5 ? 1 : 4;
    const noBase = form === 7; // SIB with base=101, mod=00: [index*s + disp32]
    let base = -1;
    if (!noBase) {
      if (useEsp) base = ESP;
      else {
        const b = this.freeOrPinnedReg(avoid);
        if (b === undefined) return undefined;
        base = b;
      }
    }
    let index = -1;
    let scaleBits = r.int(4);
    if (sib && (noBase || r.bool(0.75))) {
      const i = this.freeOrPinnedReg(avoid | bit(ESP));
      if (i === undefined) return undefined;
      index = i;
    }
    if (noBase && index < 0) return undefined;
    let disp: 0 | 1 | 4 = noBase ? 4 : dispKind;
    if (base === EBP && disp === 0) disp = 1; // [ebp] has no mod=00 form
    if (base === index && disp !== 4) return undefined;
    const scale = 1 << scaleBits;

    // Values: fixed when pinned (or ESP), else free.
    const fixedVal = (reg: number): number | undefined => {
      if (reg === ESP) return (INITIAL_ESP + this.espDelta!) >>> 0;
      return (this.pinned & bit(reg)) !== 0 ? this.regs[reg] : undefined;
    };
    let bv = base >= 0 ? fixedVal(base) : 0;
    let iv = index >= 0 ? fixedVal(index) : 0;
    const sameReg = base >= 0 && base === index;
    let dv: number;
    const sum = (): number => ((bv ?? 0) + (index >= 0 ? Math.imul(iv ?? 0, scale) : 0)) >>> 0;
    if (disp === 4) {
      if (sameReg) { if (bv === undefined) { bv = this.value32(); iv = bv; } }
      else {
        if (bv === undefined) bv = r.bool(0.5) ? this.value32() : (addr - r.int(0x100000)) >>> 0;
        if (iv === undefined) iv = r.bool(0.5) ? this.value32() : r.int(64);
      }
      dv = (addr - sum()) | 0;
    } else {
      const d8 = disp === 1 ? r.range(-128, 127) : 0;
      if (bv === undefined && base >= 0) {
        if (iv === undefined) iv = r.bool(0.5) ? this.value32() : r.int(64);
        dv = d8;
        bv = (addr - d8 - (index >= 0 ? Math.imul(iv, scale) : 0)) >>> 0;
      } else if (iv === undefined && index >= 0) {
        // Solve index*scale = addr - base - disp (mod 2^32).
        let t = (addr - (bv ?? 0) - d8) >>> 0;
        let d = d8;
        if (t % scale !== 0) {
          if (disp === 0) {
            if (scale !== 1) { scaleBits = 0; }
          } else {
            d = d8 + (t % scale) <= 127 ? d8 + (t % scale) : d8 - (scale - (t % scale));
          }
          t = (addr - (bv ?? 0) - d) >>> 0;
        }
        const sc = 1 << scaleBits;
        if (t % sc !== 0) return undefined;
        const k = r.int(sc); // any of the `sc` solutions
        iv = ((t / sc) + k * (0x100000000 / sc)) >>> 0;
        dv = d;
        if (Math.imul(iv, sc) >>> 0 !== t) return undefined;
      } else {
        dv = (addr - sum()) | 0;
        if (disp === 0 ? dv !== 0 : dv < -128 || dv > 127) return undefined;
      }
    }
    // Commit the pins (ESP is never pinned here: it is known through espDelta).
    let pinnedUse = 0;
    let regsUsed = 0;
    for (const [reg, v] of [[base, bv], [index, iv]] as Array<[number, number | undefined]>) {
      if (reg < 0) continue;
      regsUsed |= bit(reg);
      if (reg === ESP) continue;
      if (!this.canPin(reg, v!)) return undefined;
    }
    for (const [reg, v] of [[base, bv], [index, iv]] as Array<[number, number | undefined]>) {
      if (reg < 0 || reg === ESP) continue;
      this.pin(reg, v!);
      pinnedUse |= bit(reg);
    }
    const sc = 1 << scaleBits;
    const baseVal = base < 0 ? 0 : base === ESP ? INITIAL_ESP + this.espDelta! : this.regs[base]!;
    const ea = (baseVal + (index >= 0 ? Math.imul(this.regs[index]!, sc) : 0) + dv) >>> 0;
    if (ea !== addr) throw new Error(`address solver bug: ${ea.toString(16)} != ${addr.toString(16)}`);

    const mod = noBase ? 0 : disp === 0 ? 0 : disp === 1 ? 1 : 2;
    const dispBytes = disp === 0 ? [] : disp === 1 ? le(dv, 1) : le(dv, 4);
    const baseField = noBase ? 5 : base;
    const indexField = index >= 0 ? index : 4;
    const encode = sib || base === ESP
      ? (rf: number): number[] => [(mod << 6) | ((rf & 7) << 3) | 4, (scaleBits << 6) | (indexField << 3) | baseField, ...dispBytes]
      : (rf: number): number[] => [(mod << 6) | ((rf & 7) << 3) | base, ...dispBytes];
    return { kind: 'mem', addr, bytes, regsUsed, pinnedUse, seg, addr16: false, encode };
  }

  /**
   * Writes input memory (data or stack window) at an absolute address, on
   * behalf of instruction `owner` (default: the next one to be emitted).
   * Bytes already set up for another instruction cannot be taken over: a
   * jump pointer or a POPF image must survive (rejects the case instead).
   */
  setMem(addr: number, bytes: number, value: number | bigint, owner = this.insns.length): void {
    const [arr, off] = this.windowOf(addr, bytes);
    const claimBase = arr === this.data ? 0 : DATA_WIN_LEN;
    for (let i = 0; i < bytes; i++) {
      const c = this.claims[claimBase + off + i]!;
      if (c !== -1 && c !== owner) throw new Reject('memory already set up for another instruction');
    }
    for (let i = 0; i < bytes; i++) this.claims[claimBase + off + i] = owner;
    let v = BigInt.asUintN(64, BigInt(value));
    for (let i = 0; i < bytes; i++) {
      arr[off + i] = Number(v & 0xffn);
      v >>= 8n;
    }
  }

  getMem(addr: number, bytes: number): number {
    const [arr, off] = this.windowOf(addr, bytes);
    let v = 0;
    for (let i = bytes - 1; i >= 0; i--) v = v * 256 + arr[off + i]!;
    return v;
  }

  windowOf(addr: number, bytes: number): [Uint8Array, number] {
    if (addr >= DATA_WIN && addr + bytes <= DATA_WIN + DATA_WIN_LEN) return [this.data, addr - DATA_WIN];
    if (addr >= STACK_WIN && addr + bytes <= STACK_WIN + STACK_WIN_LEN) return [this.stack, addr - STACK_WIN];
    throw new Error(`address ${addr.toString(16)} outside the windows`);
  }

  // -------------------------------------------------------------- emission

  emit(insn: Partial<Insn> & { bytes: number[] }): number {
    const full: Insn = {
      reads: 0, writes: 0, pinnedUse: 0, flagsRead: 0, memRead: false, memWrite: false, effect: NO_FX, ...insn,
    };
    if (full.keepsEspKnown) full.needsEsp = true;
    full.espAt = this.espDelta;
    this.insns.push(full);
    this.writtenSoFar |= full.writes;
    if (full.memWrite) this.memWrittenSoFar = true;
    if ((full.writes & bit(ESP)) !== 0 && !insn.keepsEspKnown) this.espDelta = undefined;
    if (full.branch !== undefined || full.indirect !== undefined) {
      this.espDelta = undefined;
      this.df = undefined;
    }
    return this.insns.length - 1;
  }

  /** Assembles prefixes + opcode + ModRM + immediates for the usual ModRM forms. */
  op(spec: OpSpec): number {
    const pf: number[] = [];
    if (spec.size === 16) pf.push(0x66);
    const m = spec.rm?.kind === 'mem' ? spec.rm : undefined;
    if (m !== undefined && m.seg !== 0) pf.push(m.seg);
    if (m !== undefined && m.addr16) pf.push(0x67);
    if (spec.lock) pf.push(0xf0);
    if (spec.rep !== undefined) pf.push(spec.rep);
    for (const p of spec.prefixes ?? []) pf.push(p);
    shuffle(this.rng, pf);
    const bytes = [...pf, ...spec.opcode];
    if (spec.rm !== undefined) {
      const rf = spec.regField ?? 0;
      if (spec.rm.kind === 'reg') bytes.push(0xc0 | ((rf & 7) << 3) | spec.rm.reg);
      else bytes.push(...spec.rm.encode(rf));
    }
    for (const [v, n] of spec.imm ?? []) bytes.push(...le(v, n));
    let reads = spec.reads ?? 0;
    let writes = spec.writes ?? 0;
    let memRead = spec.memRead ?? false;
    let memWrite = spec.memWrite ?? false;
    let pinnedUse = spec.pinnedUse ?? 0;
    if (spec.rm !== undefined) {
      if (spec.rm.kind === 'reg') {
        const full = (spec.rmSize ?? spec.size) === 8 ? reg8Full(spec.rm.reg) : spec.rm.reg;
        if (spec.rmRead !== false) reads |= bit(full);
        if (spec.rmWrite) writes |= bit(full);
      } else {
        reads |= spec.rm.regsUsed;
        pinnedUse |= spec.rm.pinnedUse;
        if (spec.rmRead !== false) memRead = true;
        if (spec.rmWrite) memWrite = true;
      }
    }
    return this.emit({
      bytes, reads, writes, pinnedUse, memRead, memWrite,
      flagsRead: spec.flagsRead ?? 0, effect: spec.effect ?? NO_FX,
      ...(spec.keepsEspKnown ? { keepsEspKnown: true } : {}),
      ...(m !== undefined && (m.regsUsed & bit(ESP)) !== 0 ? { needsEsp: true } : {}),
    });
  }

  // ----------------------------------------------------------------- build

  build(): BuiltSnippet {
    const n = this.insns.length;
    if (n === 0) throw new Reject('empty');
    // Layout.
    const offsets: number[] = [];
    let off = 0;
    for (const ins of this.insns) {
      offsets.push(off);
      off += ins.bytes.length + (ins.branch?.relBytes ?? 0);
    }
    offsets.push(off);
    if (off > MAX_CODE) throw new Reject('too long');
    if (!this.pageEnd && this.codeOffset + off > PAGE_SIZE) throw new Reject('past the page');
    const land = (t: number): number => {
      let x = Math.min(t, n);
      while (x < n && this.insns[x]!.landing === false) x++;
      return x;
    };
    for (const ins of this.insns) {
      if (ins.branch !== undefined) ins.branch.target = land(ins.branch.target);
      if (ins.indirect !== undefined) ins.indirect.target = land(ins.indirect.target);
    }
    const addrOf = (i: number): number => CODE_BASE + this.codeOffset + offsets[i]!;
    const layout: Layout = {
      addrOf,
      indirectTargetOf: (i) => addrOf(this.insns[i]!.indirect!.target),
      patch32: (i, at, v) => {
        const b = this.insns[i]!.bytes;
        for (let k = 0; k < 4; k++) b[at + k] = (v >>> (8 * k)) & 0xff;
      },
    };
    for (const ins of this.insns) ins.fixup?.(layout);
    const code: number[] = [];
    this.insns.forEach((ins, i) => {
      code.push(...ins.bytes);
      if (ins.branch !== undefined) {
        const rel = offsets[ins.branch.target]! - offsets[i + 1]!;
        if (ins.branch.relBytes === 1 && (rel < -128 || rel > 127)) throw new Reject('rel8 out of range');
        code.push(...le(rel, ins.branch.relBytes));
      }
    });

    // Control-flow graph.
    const succ: number[][] = this.insns.map((ins, i) => {
      const s: number[] = [];
      if (!ins.noFallthrough) s.push(i + 1);
      if (ins.branch !== undefined) s.push(ins.branch.target);
      if (ins.indirect !== undefined) s.push(ins.indirect.target);
      return s;
    });

    // Dataflow 1: what may have been written before each instruction.
    const wIn = new Array<number>(n + 1).fill(0);
    const mIn = new Array<boolean>(n + 1).fill(false);
    const reach = new Array<boolean>(n + 1).fill(false);
    reach[0] = true;
    for (let changed = true, rounds = 0; changed; rounds++) {
      if (rounds > 50) throw new Error('dataflow 1 does not converge');
      changed = false;
      for (let i = 0; i < n; i++) {
        if (!reach[i]) continue;
        const w = wIn[i]! | this.insns[i]!.writes;
        const m = mIn[i]! || this.insns[i]!.memWrite;
        for (const s of succ[i]!) {
          if (!reach[s] || (wIn[s]! | w) !== wIn[s] || (m && !mIn[s])) {
            reach[s] = true;
            wIn[s] = wIn[s]! | w;
            mIn[s] = mIn[s]! || m;
            changed = true;
          }
        }
      }
    }
    for (let i = 0; i < n; i++) {
      if (reach[i] && (this.insns[i]!.pinnedUse & wIn[i]!) !== 0) throw new Reject('pinned register overwritten on some path');
    }
    // ESP along every path must be what the templates assumed (they track it linearly):
    // forward dataflow of ESP - INITIAL_ESP, where `null` means "differs between paths
    // or unknown". A push/pop-style instruction leaves the value the template recorded
    // for its linear successor; any other ESP write makes it unknown.
    const UNSEEN = Symbol('unseen');
    const espIn = new Array<number | null | typeof UNSEEN>(n + 1).fill(UNSEEN);
    espIn[0] = 0;
    const espAfter = (i: number): number | null => {
      const v = i + 1 < n ? this.insns[i + 1]!.espAt : this.espDelta;
      return v === undefined ? null : v;
    };
    for (let changed = true, rounds = 0; changed; rounds++) {
      if (rounds > 50) throw new Error('ESP dataflow does not converge');
      changed = false;
      for (let i = 0; i < n; i++) {
        const cur = espIn[i]!;
        if (cur === UNSEEN) continue;
        const ins = this.insns[i]!;
        let out: number | null;
        if ((ins.writes & bit(ESP)) === 0) out = cur;
        else out = ins.keepsEspKnown && cur !== null && cur === (ins.espAt ?? null) ? espAfter(i) : null;
        for (const t of succ[i]!) {
          const old = espIn[t]!;
          const merged = old === UNSEEN ? out : old === out ? old : null;
          if (merged !== old) { espIn[t] = merged; changed = true; }
        }
      }
    }
    for (let i = 0; i < n; i++) {
      const ins = this.insns[i]!;
      if (!reach[i] || !ins.needsEsp) continue;
      const v = espIn[i]!;
      if (v === null || v === UNSEEN || v !== ins.espAt) throw new Reject('ESP on some path differs from what the template assumed');
    }

    // Effects with what each instruction can know.
    const effects: Effect[] = this.insns.map((ins, i) => {
      if (typeof ins.effect !== 'function') return ins.effect;
      const written = wIn[i]!;
      const memDirty = mIn[i]!;
      const k: Known = {
        reg: (r) => ((written & bit(r)) === 0 ? this.regs[r] : undefined),
        mem: (a, b) => (memDirty ? undefined : this.getMem(a, b)),
      };
      return ins.effect(k);
    });

    // Dataflow 2: undefined flags, tainted registers, tainted memory.
    const fIn = new Array<number>(n + 1).fill(0);
    const tIn = new Array<number>(n + 1).fill(0);
    const tmIn = new Array<boolean>(n + 1).fill(false);
    for (let changed = true, rounds = 0; changed; rounds++) {
      if (rounds > 50) throw new Error('dataflow 2 does not converge');
      changed = false;
      for (let i = 0; i < n; i++) {
        if (!reach[i]) continue;
        const e = effects[i]!;
        const f = (fIn[i]! & ~e.def) | e.undef;
        let t = tIn[i]!;
        for (const [r] of e.regUndef ?? []) t |= bit(r);
        const tm = tmIn[i]! || (e.memUndef?.length ?? 0) > 0;
        for (const s of succ[i]!) {
          if ((fIn[s]! | f) !== fIn[s] || (tIn[s]! | t) !== tIn[s] || (tm && !tmIn[s])) {
            fIn[s] = fIn[s]! | f;
            tIn[s] = tIn[s]! | t;
            tmIn[s] = tmIn[s]! || tm;
            changed = true;
          }
        }
      }
    }
    let anyUndefFlags = 0;
    for (let i = 0; i <= n; i++) {
      if (!reach[i]) continue;
      anyUndefFlags |= fIn[i]!;
      if (i === n) break;
      const ins = this.insns[i]!;
      if ((ins.flagsRead & fIn[i]!) !== 0) throw new Reject('reads an undefined flag');
      if ((ins.reads & tIn[i]!) !== 0) throw new Reject('reads an undefined register');
      if (ins.memRead && tmIn[i]) throw new Reject('reads undefined memory');
    }

    // Masks.
    const regMask = new Uint32Array(8).fill(0xffffffff);
    let dataUndef: Uint8Array | null = null;
    let stackUndef: Uint8Array | null = null;
    const rules = new Set<UndefinedRuleId>();
    for (let i = 0; i < n; i++) {
      if (!reach[i]) continue;
      const e = effects[i]!;
      for (const r of e.rules ?? []) rules.add(r);
      for (const [r, m] of e.regUndef ?? []) regMask[r] = (regMask[r]! & ~m) >>> 0;
      for (const [a, len] of e.memUndef ?? []) {
        for (let k = 0; k < len; k++) {
          const x = a + k;
          if (x >= DATA_WIN && x < DATA_WIN + DATA_WIN_LEN) (dataUndef ??= new Uint8Array(DATA_WIN_LEN))[x - DATA_WIN] = 1;
          else if (x >= STACK_WIN && x < STACK_WIN + STACK_WIN_LEN) (stackUndef ??= new Uint8Array(STACK_WIN_LEN))[x - STACK_WIN] = 1;
          else throw new Error('undefined memory outside the windows');
        }
      }
    }
    const insnInfo = this.insns.map((_, i) => ({ offset: offsets[i]!, length: offsets[i + 1]! - offsets[i]! }));
    return {
      code: Uint8Array.from(code),
      codeOffset: this.codeOffset,
      regs: this.regs,
      eflags: this.eflags,
      data: this.data,
      stack: this.stack,
      insns: insnInfo,
      masks: {
        flags: COMPARED_FLAGS & ~fIn[n]!,
        faultFlags: COMPARED_FLAGS & ~anyUndefFlags,
        regs: regMask,
        dataUndef,
        stackUndef,
        rules: [...rules],
      },
    };
  }
}

export interface OpSpec {
  /** Operand size: 16 adds the 0x66 prefix. */
  size?: Size;
  /** Size of the r/m operand when it differs from `size` (MOVZX/MOVSX); 8 means AH..BH for 4..7. */
  rmSize?: Size;
  opcode: number[];
  rm?: Operand;
  regField?: number;
  imm?: Array<[value: number, bytes: number]>;
  rmRead?: boolean;
  rmWrite?: boolean;
  reads?: number;
  writes?: number;
  pinnedUse?: number;
  flagsRead?: number;
  memRead?: boolean;
  memWrite?: boolean;
  lock?: boolean;
  rep?: number;
  prefixes?: number[];
  effect?: Effect | ((k: Known) => Effect);
  keepsEspKnown?: boolean;
}

export function absMem(addr: number, bytes: number, seg: number): MemOperand {
  return {
    kind: 'mem', addr, bytes, regsUsed: 0, pinnedUse: 0, seg, addr16: false,
    encode: (rf) => [((rf & 7) << 3) | 5, ...le(addr, 4)],
  };
}

/** Little-endian bytes of the low `n` bytes of `v`. */
export function le(v: number, n: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push((v >>> (8 * i)) & 0xff);
  return out;
}

export function shuffle<T>(rng: Rng, a: T[]): void {
  for (let i = a.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    const t = a[i]!;
    a[i] = a[j]!;
    a[j] = t;
  }
}

/** Value of an operand from known inputs. */
export function operandValue(k: Known, op: Operand, size: Size): number | undefined {
  if (op.kind === 'mem') return k.mem(op.addr, bytesOf(size));
  if (size === 8) {
    const v = k.reg(reg8Full(op.reg));
    return v === undefined ? undefined : (v >>> (op.reg >= 4 ? 8 : 0)) & 0xff;
  }
  const v = k.reg(op.reg);
  return v === undefined ? undefined : (v & maskOf(size)) >>> 0;
}

/** Undefined-destination entry for an operand. */
export function undefDest(op: Operand, size: Size): Pick<Effect, 'regUndef' | 'memUndef'> {
  if (op.kind === 'mem') return { memUndef: [[op.addr, bytesOf(size)]] };
  if (size === 8) return { regUndef: [[reg8Full(op.reg), op.reg >= 4 ? 0xff00 : 0xff]] };
  return { regUndef: [[op.reg, maskOf(size)]] };
}
