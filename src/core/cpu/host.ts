/**
 * The CPU's whole view of the world outside itself (TinyEMU-style): physical
 * memory, port I/O, the interrupt acknowledge cycle and the time-stamp clock.
 * The CPU knows nothing about devices; the machine implements this interface.
 */

/** Access widths in bytes for port and slow-path physical accesses. */
export type AccessSize = 1 | 2 | 4;

export interface CpuHost {
  /**
   * The buffer holding guest RAM frames (a WebAssembly.Memory's buffer, shared
   * when the platform allows). It may be replaced when the pool grows; the CPU
   * re-reads it whenever the count in `bufferGeneration` changes (checked on
   * TLB fills and page walks).
   */
  readonly buffer: ArrayBufferLike;
  /**
   * One-element counter, incremented whenever `buffer` is replaced. A cell the
   * CPU keeps and reads directly rather than a getter: page walks check it
   * after every frame lookup (~30 M times per run of the sort benchmark, whose
   * address-space switches refill the TLB), and the getter chain through the
   * machine and its memory cost ~3% of that run.
   */
  readonly bufferGeneration: Int32Array;

  /**
   * Host byte offset (into `buffer`) of the 4 KiB frame that backs
   * guest-physical page `page` (= physical address >>> 12), for reading.
   * Returns -1 when the page has no frame of its own: untouched RAM (reads as
   * zeros), MMIO or open bus. The CPU must then use `physRead` for every access
   * to that page and must not cache the page in its TLB for reading, so that a
   * later first write (which allocates a frame) never leaves a stale alias.
   */
  frameForRead(page: number): number;

  /**
   * Host byte offset of the frame backing `page` for writing. Allocates the
   * frame on first write (this may grow the buffer) and marks the page dirty.
   * Returns -1 for pages that are not writable RAM (MMIO, open bus, ROM): the
   * CPU then uses `physWrite` for every write to that page.
   */
  frameForWrite(page: number): number;

  /** Slow-path physical read for pages without a frame (zero RAM, MMIO, open bus). */
  physRead(address: number, size: AccessSize): number;
  /** Slow-path physical write for pages that `frameForWrite` refused. */
  physWrite(address: number, size: AccessSize, value: number): void;

  /** IN: open bus reads all ones of the given width. */
  ioRead(port: number, size: AccessSize): number;
  /** OUT. */
  ioWrite(port: number, size: AccessSize, value: number): void;

  /**
   * The interrupt acknowledge cycle: called by the CPU when its interrupt line
   * is raised (see Cpu.setInterruptLine) and EFLAGS.IF allows delivery.
   * Returns the vector to deliver (the PIC answers a spurious vector if the
   * request went away).
   */
  acknowledgeInterrupt(): number;

  /** The time-stamp counter as an integer number of ticks (exact below 2^53). */
  readTsc(): number;
}

/** Why `Cpu.run` returned. */
export const enum StopReason {
  /** The instruction budget given to run() was used up. */
  Budget = 0,
  /** HLT with interrupts enabled: sleep until the interrupt line rises. */
  Halted = 1,
  /** Triple fault (or HLT with interrupts disabled is NOT this: see HaltedNoInterrupts). */
  Shutdown = 2,
  /** Cpu.requestStop() was called (from a device callback or the host). */
  StopRequested = 3,
  /** An exception was raised while `trapExceptions` is on (tests, debugging): not delivered. */
  Exception = 4,
  /** HLT with EFLAGS.IF = 0: nothing can wake the CPU (Linux poweroff ends like this). */
  HaltedNoInterrupts = 5,
}

/** Register numbers in x86 encoding order. */
export const enum Reg {
  EAX = 0, ECX = 1, EDX = 2, EBX = 3, ESP = 4, EBP = 5, ESI = 6, EDI = 7,
}

/** Segment register numbers in x86 encoding order. */
export const enum Seg {
  ES = 0, CS = 1, SS = 2, DS = 3, FS = 4, GS = 5,
}
