/**
 * The emulator side of the differential harness.
 *
 * Environment (chosen to look like a 32-bit Linux process to the snippet):
 *  - 32-bit protected mode, CPL 3, IOPL 0, EFLAGS.IF = 1.
 *  - Paging ON (CR0 = PG|AM|WP|NE|ET|MP|PE, CR4 = 0, 32-bit paging) with an
 *    identity map of exactly the three pages the native runner maps: code
 *    0x200000 (user, read-only), data 0x300000 and stack 0x400000 (user,
 *    read/write), plus supervisor-only pages at 0xffff4000.. for the GDT,
 *    IDT, TSS, a ring-0 stack and ring-0 handler stubs (like a kernel's, out
 *    of the generator's reach). Every other linear address is not present,
 *    so wild accesses page-fault on both sides with the same CR2 and error
 *    code.
 *  - Segments as Linux sets them: CS = 0x23, SS/DS/ES = 0x2b (flat, base 0,
 *    limit 4 GiB), FS = GS = 0 (null: any access through them is #GP(0); the
 *    native runner loads both with null before each snippet, since the
 *    x86-64 build has no TLS descriptor to put in GS). The GDT holds those
 *    descriptors at the same indexes as Linux; the IDT has DPL-0 gates except
 *    vectors 3, 4 and 0x80 (DPL 3), as in Linux, so INT n raises the same
 *    #GP(n*8+2). TR points at a TSS without an I/O bitmap (IN/OUT: #GP(0)).
 *  - trapExceptions = true; the snippet is followed by HLT, which at CPL 3
 *    raises #GP(0) at the end address: that is the normal end of a case.
 *    A software INT n through a DPL-3 gate (INT 3, INT 4) is not an
 *    exception: it is delivered to a ring-0 HLT, and the user state is read
 *    back from the ring-0 frame, as the kernel would see it.
 */
import { StopReason, type CpuHost, type AccessSize } from '../../host.ts';
import {
  type CaseInput, type Outcome, CODE_BASE, DATA_BASE, DATA_WIN_LEN, DATA_WIN_OFF, PAGE_SIZE, STACK_BASE, STACK_WIN_LEN,
  STACK_WIN_OFF, outsideHash,
} from './format.ts';

/** The part of the Cpu API the harness uses (the real Cpu and the test fake both have it). */
export interface DiffCpu {
  trapExceptions: boolean;
  exceptionVector: number;
  readonly instructionsRetired?: number;
  exceptionErrorCode: number;
  reset(): void;
  run(budget: number): StopReason;
  getReg32(r: number): number;
  setReg32(r: number, v: number): void;
  getEip(): number;
  setEip(v: number): void;
  getEflags(): number;
  setEflags(v: number): void;
  getCr(n: 0 | 2 | 3 | 4): number;
  setCr(n: 0 | 2 | 3 | 4, v: number): void;
  setSegment(s: number, selector: number, base: number, limit: number, flags: number): void;
  setGdtr(base: number, limit: number): void;
  setIdtr(base: number, limit: number): void;
  setTr?(selector: number, base: number, limit: number, flags: number): void;
  setLdtr?(selector: number, base: number, limit: number, flags: number): void;
  getSegment?(s: number): { selector: number };
  flushTlb(): void;
  /** The host rewrote code (each case's snippet): compiled code must go. */
  invalidateCode?(): void;
}

export type CpuFactory = (host: CpuHost) => DiffCpu;

// Physical frames of the little machine (indexes into the host buffer's pages).
const PD = 0x1000;
const PT0 = 0x2000; // linear 0 - 4 MiB
const PT1 = 0x3000; // linear 4 - 8 MiB
const PT2 = 0x7000; // linear 0xffc00000 - 4 GiB (system area)
const SYS_PAGES = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9];
const USER_PAGES = [CODE_BASE >>> 12, DATA_BASE >>> 12, STACK_BASE >>> 12];
/**
 * The system structures live at high linear addresses (supervisor pages) that
 * the generator never touches, like a kernel's: low unmapped addresses then
 * fault with P = 0 exactly as in the native process.
 */
const GDT = 0xffff4000; // frame 4
const IDT = 0xffff5000; // frame 5
const TSS = 0xffff6000; // frame 6
const KSTACK_TOP = 0xffff9000; // frame 8 (0xffff8000..0xffff8fff)
/** Ring-0 "handlers": HANDLERS + v holds a HLT for vector v (frame 9). */
const HANDLERS = 0xffff9000;
const SYS_MAP: Array<[linear: number, phys: number]> = [
  [GDT, 0x4000], [IDT, 0x5000], [TSS, 0x6000], [0xffff8000, 0x8000], [HANDLERS, 0x9000],
];

export const SEL_CS = 0x23;
export const SEL_DS = 0x2b;
const SEL_TSS = 0x80;
export const CR0_LINUX = 0x80050033;
const FLAT = 0xffffffff;
/** ES CS SS DS FS GS as a Linux process has them. */
const DEFAULT_SEGS = [SEL_DS, SEL_CS, SEL_DS, SEL_DS, 0, 0];

/** Flat RAM for the few pages above; every other page is open bus. */
export class DiffHost implements CpuHost {
  readonly buffer: ArrayBuffer;
  /** The buffer is this memory's, so the JIT can run generated code on it. */
  readonly memory: WebAssembly.Memory;
  /** Host offsets of spare zeroed frames after the guest's, for the JIT's state (JIT_FRAMES of them). */
  readonly spareFrames: number[];
  readonly bufferGeneration = new Int32Array(1);
  readonly mem: Uint8Array;
  private readonly frames = new Int32Array(0x402).fill(-1);
  readonly codeFrame: number;
  readonly dataFrame: number;
  readonly stackFrame: number;
  /** Unexpected slow-path traffic (should stay empty in the diff cases). */
  ioCount = 0;

  constructor() {
    const pages = [...SYS_PAGES, ...USER_PAGES];
    const spare = 96; // at least JIT_FRAMES (src/core/jit/jit.ts)
    this.memory = new WebAssembly.Memory({ initial: Math.ceil(((pages.length + spare) * PAGE_SIZE) / 65536) });
    this.buffer = this.memory.buffer;
    this.spareFrames = Array.from({ length: spare }, (_, i) => (pages.length + i) * PAGE_SIZE);
    this.mem = new Uint8Array(this.buffer);
    pages.forEach((p, i) => { this.frames[p] = i * PAGE_SIZE; });
    this.codeFrame = this.frames[USER_PAGES[0]!]!;
    this.dataFrame = this.frames[USER_PAGES[1]!]!;
    this.stackFrame = this.frames[USER_PAGES[2]!]!;
  }

  frame(page: number): number {
    return page >= 0 && page < this.frames.length ? this.frames[page]! : -1;
  }
  frameForRead(page: number): number { return this.frame(page); }
  frameForWrite(page: number): number { return this.frame(page); }
  physRead(_address: number, size: AccessSize): number { return size === 4 ? 0xffffffff : size === 2 ? 0xffff : 0xff; }
  physWrite(): void { /* open bus */ }
  ioRead(_port: number, size: AccessSize): number { this.ioCount++; return size === 4 ? 0xffffffff : size === 2 ? 0xffff : 0xff; }
  ioWrite(): void { this.ioCount++; }
  acknowledgeInterrupt(): number { return 0x20; }
  readTsc(): number { return 0; }

  r32(phys: number): number {
    const f = this.frame(phys >>> 12);
    if (f < 0) throw new Error(`no frame for ${phys.toString(16)}`);
    return new DataView(this.buffer).getUint32(f + (phys & 0xfff), true);
  }

  w32(phys: number, v: number): void {
    const f = this.frame(phys >>> 12);
    if (f < 0) throw new Error(`no frame for ${phys.toString(16)}`);
    new DataView(this.buffer).setUint32(f + (phys & 0xfff), v >>> 0, true);
  }
}

function descriptor(base: number, limit: number, access: number, flagsNibble: number): [number, number] {
  const lo = ((base & 0xffff) << 16) | (limit & 0xffff);
  const hi = (base & 0xff000000) | ((flagsNibble & 0xf) << 20) | (limit & 0xf0000) | ((access & 0xff) << 8) | ((base >>> 16) & 0xff);
  return [lo >>> 0, hi >>> 0];
}

/** Runs cases on an emulated CPU, reusing one CPU and one host. */
export class EmuRunner {
  readonly host = new DiffHost();
  readonly cpu: DiffCpu;
  private prevCodeStart = 0;
  private prevCodeEnd = 0;
  private readonly dataWords: Int32Array;
  private readonly stackWords: Int32Array;
  /** Instruction budget per case (loops are bounded by the generator). */
  budget = 100_000;

  constructor(factory: CpuFactory) {
    const h = this.host;
    // Page tables: identity map of the three user pages only.
    h.w32(PD + 0 * 4, PT0 | 7);
    h.w32(PD + 1 * 4, PT1 | 7);
    h.w32(PT0 + ((CODE_BASE >>> 12) & 0x3ff) * 4, CODE_BASE | 5); // user, read-only
    h.w32(PT0 + ((DATA_BASE >>> 12) & 0x3ff) * 4, DATA_BASE | 7);
    h.w32(PT1 + ((STACK_BASE >>> 12) & 0x3ff) * 4, STACK_BASE | 7);
    // System area: supervisor-only pages at the top of the linear space.
    h.w32(PD + 1023 * 4, PT2 | 3);
    for (const [lin, phys] of SYS_MAP) h.w32(PT2 + ((lin >>> 12) & 0x3ff) * 4, phys | 3);
    // GDT as in Linux: 2/3 kernel code/data, 4 = 0x23 user code, 5 = 0x2b user data, 12 = 0x63 TLS.
    const gdt = 0x4000;
    const put = (i: number, d: [number, number]): void => { h.w32(gdt + i * 8, d[0]); h.w32(gdt + i * 8 + 4, d[1]); };
    put(2, descriptor(0, 0xfffff, 0x9b, 0xc));
    put(3, descriptor(0, 0xfffff, 0x93, 0xc));
    put(4, descriptor(0, 0xfffff, 0xfb, 0xc));
    put(5, descriptor(0, 0xfffff, 0xf3, 0xc));
    put(12, descriptor(0, 0xfffff, 0xf3, 0xc));
    put(16, descriptor(TSS, 0x67, 0x8b, 0));
    // IDT: present 32-bit interrupt gates to ring-0 HLTs; DPL 3 for #BP, #OF and int 0x80 as in Linux.
    // Exceptions never get there (trapExceptions); software INT n through a DPL-3 gate does, and the
    // runner then reads the user state back from the ring-0 frame, as the kernel does.
    for (let v = 0; v < 256; v++) {
      const dpl = v === 3 || v === 4 || v === 0x80 ? 3 : 0;
      const off = HANDLERS + v;
      h.w32(0x5000 + v * 8, (0x10 << 16) | (off & 0xffff));
      h.w32(0x5000 + v * 8 + 4, (off & 0xffff0000) | 0x8000 | (dpl << 13) | (0xe << 8));
      h.mem[h.frame(9) + v] = 0xf4;
    }
    h.w32(0x6000 + 4, KSTACK_TOP); // ESP0
    h.w32(0x6000 + 8, 0x18); // SS0
    h.w32(0x6000 + 100, 0x00680000); // I/O map base = 0x68 > limit: no bitmap
    this.cpu = factory(h);
    this.dataWords = new Int32Array(h.buffer, h.dataFrame, PAGE_SIZE / 4);
    this.stackWords = new Int32Array(h.buffer, h.stackFrame, PAGE_SIZE / 4);
    this.setupCpu();
  }

  /** Full machine setup (also used after a case that could have disturbed system state). */
  setupCpu(): void {
    const cpu = this.cpu;
    cpu.reset();
    cpu.trapExceptions = true;
    cpu.setGdtr(GDT, 0xff);
    cpu.setIdtr(IDT, 0x7ff);
    cpu.setCr(3, PD);
    cpu.setCr(4, 0);
    cpu.setCr(0, CR0_LINUX);
    cpu.setTr?.(SEL_TSS, TSS, 0x67, 0x8b);
    cpu.setLdtr?.(0, 0, 0, 0); // no LDT, as in a Linux process
    this.loadSegments();
    cpu.flushTlb();
  }

  private loadSegments(): void {
    const cpu = this.cpu;
    cpu.setSegment(1, SEL_CS, 0, FLAT, 0xcfb);
    cpu.setSegment(0, SEL_DS, 0, FLAT, 0xcf3);
    cpu.setSegment(2, SEL_DS, 0, FLAT, 0xcf3);
    cpu.setSegment(3, SEL_DS, 0, FLAT, 0xcf3);
    cpu.setSegment(4, 0, 0, 0, 0);
    cpu.setSegment(5, 0, 0, 0, 0);
  }

  run(c: CaseInput): Outcome {
    const h = this.host;
    const cpu = this.cpu;
    const mem = h.mem;
    // Code page: the snippet, then the HLT sentinel (when it fits), zeros elsewhere.
    mem.fill(0, h.codeFrame + this.prevCodeStart, h.codeFrame + this.prevCodeEnd);
    mem.set(c.code, h.codeFrame + c.codeOffset);
    const end = c.codeOffset + c.code.length;
    if (end < PAGE_SIZE) mem[h.codeFrame + end] = 0xf4;
    this.cpu.invalidateCode?.();
    this.prevCodeStart = c.codeOffset;
    this.prevCodeEnd = Math.min(end + 1, PAGE_SIZE);
    mem.set(c.data, h.dataFrame + DATA_WIN_OFF);
    mem.set(c.stack, h.stackFrame + STACK_WIN_OFF);

    this.loadSegments();
    for (let r = 0; r < 8; r++) cpu.setReg32(r, c.regs[r]!);
    cpu.setEflags(c.eflags);
    cpu.setEip(CODE_BASE + c.codeOffset);
    const reason = cpu.run(this.budget);

    const endAddr = CODE_BASE + end;
    let done = false;
    let vector = -1;
    let errorCode = 0;
    const eip = cpu.getEip() >>> 0;
    if (reason === StopReason.Exception) {
      vector = cpu.exceptionVector;
      errorCode = cpu.exceptionErrorCode;
      if (vector === 13 && errorCode === 0 && eip === endAddr && end < PAGE_SIZE) {
        done = true;
        vector = -1;
      }
    }
    const regs = new Uint32Array(8);
    for (let r = 0; r < 8; r++) regs[r] = cpu.getReg32(r) >>> 0;
    const segs = new Uint16Array(6);
    for (let sg = 0; sg < 6; sg++) segs[sg] = cpu.getSegment?.(sg).selector ?? DEFAULT_SEGS[sg]!;
    let outEip = eip;
    let outEflags = cpu.getEflags() >>> 0;
    if (reason === StopReason.HaltedNoInterrupts && eip > HANDLERS && eip <= HANDLERS + 256) {
      // A software interrupt went through a DPL-3 gate: user state from the ring-0 frame
      // [EIP, CS, EFLAGS, ESP, SS] at the top of the kernel stack.
      const frame = 0x8000 + 0x1000 - 20;
      vector = eip - 1 - HANDLERS;
      outEip = h.r32(frame);
      outEflags = h.r32(frame + 8);
      regs[4] = h.r32(frame + 12);
      segs[1] = h.r32(frame + 4) & 0xffff;
      segs[2] = h.r32(frame + 16) & 0xffff;
    } else if (reason !== StopReason.Exception) {
      // Not an outcome the native side can produce: make it stand out.
      vector = reason === StopReason.Budget ? -2 : -10 - reason;
    }
    const data = mem.slice(h.dataFrame + DATA_WIN_OFF, h.dataFrame + DATA_WIN_OFF + DATA_WIN_LEN);
    const stack = mem.slice(h.stackFrame + STACK_WIN_OFF, h.stackFrame + STACK_WIN_OFF + STACK_WIN_LEN);
    const dataOutsideHash = outsideHash(this.dataWords, DATA_WIN_OFF, DATA_WIN_LEN);
    const stackOutsideHash = outsideHash(this.stackWords, STACK_WIN_OFF, STACK_WIN_LEN);
    if (dataOutsideHash !== 0) this.dataWords.fill(0);
    if (stackOutsideHash !== 0) this.stackWords.fill(0);
    const out: Outcome = {
      done,
      vector,
      signo: 0,
      errorCode: errorCode < 0 ? 0 : errorCode,
      cr2: vector === 14 ? cpu.getCr(2) >>> 0 : 0,
      eip: outEip,
      eflags: outEflags,
      regs,
      segs,
      data,
      stack,
      dataOutsideHash,
      stackOutsideHash,
    };
    if (reason !== StopReason.Exception) this.setupCpu();
    return out;
  }
}
