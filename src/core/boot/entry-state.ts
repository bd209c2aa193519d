/**
 * The CPU state a loader hands to the machine: where to start, in which
 * mode, with which registers. Loaders build it; the machine applies it to
 * the Cpu (setSegment / setGdtr / setCr / setReg32 / setEip / setEflags).
 */

export interface SegmentState {
  selector: number;
  base: number;
  /** Byte-granular effective limit (0xFFFFFFFF for flat segments). */
  limit: number;
  /** Descriptor access byte | flags nibble << 8 (e.g. 0xC9B flat 32-bit code, 0xC93 flat data). */
  flags: number;
}

export interface InitialCpuState {
  eip: number;
  eflags: number;
  cr0: number;
  registers: { eax: number; ecx: number; edx: number; ebx: number; esp: number; ebp: number; esi: number; edi: number };
  gdt: { base: number; limit: number };
  idt: { base: number; limit: number };
  segments: { es: SegmentState; cs: SegmentState; ss: SegmentState; ds: SegmentState; fs: SegmentState; gs: SegmentState };
}

/** Access byte + flags of a present, accessed, ring-0, 4 GiB, 32-bit code segment (execute/read). */
export const FLAT_CODE_FLAGS = 0xc9b;
/** Access byte + flags of a present, accessed, ring-0, 4 GiB, 32-bit data segment (read/write). */
export const FLAT_DATA_FLAGS = 0xc93;

/** An 8-byte GDT descriptor for a flat 4 GiB segment with the given access byte, as two little-endian dwords. */
export function flatDescriptor(access: number): [low: number, high: number] {
  // limit 0xFFFFF (G=1: 4 GiB), base 0, flags G|D/B.
  return [0x0000ffff, (0x00cf0000 | (access << 8)) >>> 0];
}

/** 32-bit protected mode, paging off, interrupts off, every segment flat; registers zero unless given. */
export function flatProtectedModeState(options: {
  eip: number;
  codeSelector: number;
  dataSelector: number;
  gdt: { base: number; limit: number };
  registers?: Partial<InitialCpuState['registers']>;
}): InitialCpuState {
  const code: SegmentState = { selector: options.codeSelector, base: 0, limit: 0xffffffff, flags: FLAT_CODE_FLAGS };
  const data = (): SegmentState => ({ selector: options.dataSelector, base: 0, limit: 0xffffffff, flags: FLAT_DATA_FLAGS });
  return {
    eip: options.eip >>> 0,
    eflags: 0x2, // bit 1 is always one; IF = 0
    cr0: 0x1, // PE, paging off
    registers: { eax: 0, ecx: 0, edx: 0, ebx: 0, esp: 0, ebp: 0, esi: 0, edi: 0, ...options.registers },
    gdt: { ...options.gdt },
    idt: { base: 0, limit: 0 },
    segments: { es: data(), cs: code, ss: data(), ds: data(), fs: data(), gs: data() },
  };
}
