/**
 * Binary batch / result layouts shared by the generator, the native runner
 * (native-runner.c mirrors every constant here) and the emulator runner.
 */

export const FORMAT_VERSION = 5;
export const IN_MAGIC = 0x42445654; // "TVDB"
export const OUT_MAGIC = 0x52445654; // "TVDR"
export const HEADER_SIZE = 12;

export const CODE_BASE = 0x00200000;
export const DATA_BASE = 0x00300000;
export const STACK_BASE = 0x00400000;
export const PAGE_SIZE = 4096;
/** The data window: the first 256 bytes of the data page. */
export const DATA_WIN_OFF = 0x000;
export const DATA_WIN_LEN = 256;
export const DATA_WIN = DATA_BASE + DATA_WIN_OFF;
/** The stack window: 0x400780..0x40087F around the initial ESP. */
export const STACK_WIN_OFF = 0x780;
export const STACK_WIN_LEN = 256;
export const STACK_WIN = STACK_BASE + STACK_WIN_OFF;
export const INITIAL_ESP = 0x00400800;
export const MAX_CODE = 64;

export const IN_SIZE = 640;
export const IN_CODELEN = 0;
/** u16: the snippet starts at CODE_BASE + this offset. */
export const IN_CODEOFF = 2;
export const IN_REGS = 4;
export const IN_EFLAGS = 36;
export const IN_CODE = 40;
export const IN_DATA = 104;
export const IN_STACK = 360;

export const OUT_SIZE = 608;
export const OUT_STATUS = 0;
export const OUT_SIGNO = 4;
export const OUT_TRAPNO = 8;
export const OUT_ERR = 12;
export const OUT_CR2 = 16;
export const OUT_EIP = 20;
export const OUT_EFLAGS = 24;
export const OUT_REGS = 28;
export const OUT_DATA_HASH = 60;
export const OUT_STACK_HASH = 64;
/** u16 x 6: ES CS SS DS FS GS selectors. */
export const OUT_SEGS = 68;
export const OUT_DATA = 96;
export const OUT_STACK = 352;

export const STATUS_DONE = 0;
export const STATUS_FAULT = 1;

/** What a case feeds both CPUs. */
export interface CaseInput {
  code: Uint8Array;
  /** Offset of the snippet in the code page (normally 0). */
  codeOffset: number;
  /** EAX..EDI in encoding order (ESP included). */
  regs: Uint32Array;
  eflags: number;
  data: Uint8Array; // DATA_WIN_LEN bytes
  stack: Uint8Array; // STACK_WIN_LEN bytes
}

/** What either CPU produced. */
export interface Outcome {
  /** true when the snippet ran to its end. */
  done: boolean;
  /** Exception vector (native: the kernel's trap number). -1 when done. */
  vector: number;
  /** Native only: the signal delivered (0 for the emulator). */
  signo: number;
  errorCode: number;
  cr2: number;
  /** Absolute EIP: end of snippet, or the faulting instruction (native traps: after it). */
  eip: number;
  eflags: number;
  regs: Uint32Array;
  /** Segment selectors ES CS SS DS FS GS. */
  segs: Uint16Array;
  data: Uint8Array;
  stack: Uint8Array;
  /** Hash of the data / stack page outside its window (0 = untouched). */
  dataOutsideHash: number;
  stackOutsideHash: number;
}

export function encodeBatch(cases: readonly CaseInput[]): Uint8Array {
  const buf = new Uint8Array(HEADER_SIZE + cases.length * IN_SIZE);
  const dv = new DataView(buf.buffer);
  dv.setUint32(0, IN_MAGIC, true);
  dv.setUint32(4, FORMAT_VERSION, true);
  dv.setUint32(8, cases.length, true);
  for (let i = 0; i < cases.length; i++) {
    const c = cases[i]!;
    const o = HEADER_SIZE + i * IN_SIZE;
    if (c.code.length > MAX_CODE) throw new Error(`case ${i}: code too long (${c.code.length})`);
    if (c.codeOffset + c.code.length > PAGE_SIZE) throw new Error(`case ${i}: code leaves the page`);
    buf[o + IN_CODELEN] = c.code.length;
    dv.setUint16(o + IN_CODEOFF, c.codeOffset, true);
    for (let r = 0; r < 8; r++) dv.setUint32(o + IN_REGS + 4 * r, c.regs[r]!, true);
    dv.setUint32(o + IN_EFLAGS, c.eflags >>> 0, true);
    buf.set(c.code, o + IN_CODE);
    buf.set(c.data, o + IN_DATA);
    buf.set(c.stack, o + IN_STACK);
  }
  return buf;
}

export function decodeResults(buf: Uint8Array, expectedCount: number): Outcome[] {
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  if (buf.byteLength < HEADER_SIZE || dv.getUint32(0, true) !== OUT_MAGIC || dv.getUint32(4, true) !== FORMAT_VERSION) {
    throw new Error('native results: bad header');
  }
  const count = dv.getUint32(8, true);
  if (count !== expectedCount || buf.byteLength !== HEADER_SIZE + count * OUT_SIZE) {
    throw new Error(`native results: ${count} records / ${buf.byteLength} bytes, expected ${expectedCount}`);
  }
  const out: Outcome[] = [];
  for (let i = 0; i < count; i++) {
    const o = HEADER_SIZE + i * OUT_SIZE;
    const done = dv.getUint32(o + OUT_STATUS, true) === STATUS_DONE;
    const regs = new Uint32Array(8);
    for (let r = 0; r < 8; r++) regs[r] = dv.getUint32(o + OUT_REGS + 4 * r, true);
    const segs = new Uint16Array(6);
    for (let s = 0; s < 6; s++) segs[s] = dv.getUint16(o + OUT_SEGS + 2 * s, true);
    out.push({
      done,
      vector: done ? -1 : dv.getUint32(o + OUT_TRAPNO, true),
      signo: done ? 0 : dv.getUint32(o + OUT_SIGNO, true),
      errorCode: done ? 0 : dv.getUint32(o + OUT_ERR, true),
      cr2: done ? 0 : dv.getUint32(o + OUT_CR2, true),
      eip: dv.getUint32(o + OUT_EIP, true),
      eflags: dv.getUint32(o + OUT_EFLAGS, true),
      regs,
      segs,
      data: buf.slice(o + OUT_DATA, o + OUT_DATA + DATA_WIN_LEN),
      stack: buf.slice(o + OUT_STACK, o + OUT_STACK + STACK_WIN_LEN),
      dataOutsideHash: dv.getUint32(o + OUT_DATA_HASH, true),
      stackOutsideHash: dv.getUint32(o + OUT_STACK_HASH, true),
    });
  }
  return out;
}

/**
 * Hash of a page's 32-bit words outside [winOff, winOff + winLen): 0 when they
 * are all zero, otherwise FNV-1a over the words, forced odd. Same as
 * outside_hash() in native-runner.c. `words` views exactly one page.
 */
export function outsideHash(words: Int32Array, winOff: number, winLen: number): number {
  const lo = winOff >> 2;
  const hi = (winOff + winLen) >> 2;
  let any = 0;
  for (let i = 0; i < lo; i++) any |= words[i]!;
  for (let i = hi; i < words.length; i++) any |= words[i]!;
  if (any === 0) return 0;
  let h = 2166136261 | 0;
  for (let i = 0; i < words.length; i++) {
    if (i >= lo && i < hi) continue;
    h = Math.imul(h ^ words[i]!, 16777619);
  }
  return (h | 1) >>> 0;
}
