/**
 * The contract between the integer CPU and the x87 unit. The CPU decodes the
 * ModRM byte and effective address of an ESC (D8..DF) instruction, handles
 * #NM (CR0.EM/TS) and #MF before calling in, and gives the FPU this narrow
 * view of memory and EFLAGS. Memory accessors take a segment number (Seg) and
 * an offset, apply segmentation and paging, and throw the CPU's guest-fault
 * signal on #GP/#SS/#PF; the FPU never catches it. A store of more than 4
 * bytes must call `probeWrite` first so that a fault leaves memory and the
 * FPU state untouched (faults are restartable).
 */
export interface FpuHost {
  readU8(seg: number, offset: number): number;
  readU16(seg: number, offset: number): number;
  readU32(seg: number, offset: number): number;
  writeU8(seg: number, offset: number, value: number): void;
  writeU16(seg: number, offset: number, value: number): void;
  writeU32(seg: number, offset: number, value: number): void;
  /** Faults now (#GP/#SS/#PF) unless `length` bytes at seg:offset are writable. */
  probeWrite(seg: number, offset: number, length: number): void;
  /** Faults now unless `length` bytes at seg:offset are readable. */
  probeRead(seg: number, offset: number, length: number): void;
  /**
   * Copies `bytes` to seg:offset in one step when the host can (the span is
   * accessible without any check or fault, e.g. in one page the TLB already
   * maps for this access) and returns true; false leaves memory untouched and
   * the caller uses the accessors above. For FXSAVE's image at every context
   * switch.
   */
  tryWriteBytes(seg: number, offset: number, bytes: Uint8Array): boolean;
  /** As tryWriteBytes, reading `into.length` bytes from seg:offset into `into`. */
  tryReadBytes(seg: number, offset: number, into: Uint8Array): boolean;
  /** FCOMI/FUCOMI(P): set ZF, PF, CF from the comparison and clear OF, SF, AF. */
  setCompareFlags(zf: boolean, pf: boolean, cf: boolean): void;
  /** FCMOVcc: current EFLAGS (only CF, PF, ZF are consulted). */
  getEflags(): number;
}

/** What the CPU calls. Implemented by `X87` in ./x87.ts. */
export interface FpuUnit {
  /** Power-on / FNINIT state (control word 0x037F, all tags empty). */
  reset(): void;
  /**
   * Executes one x87 instruction. `opcode` is 0xD8..0xDF, `modrm` its ModRM
   * byte. For memory forms (mod != 3) `seg`/`offset` locate the operand; for
   * register forms `seg` is -1. `operandSize32` selects the 14- or 28-byte
   * environment layout (FLDENV/FSTENV/FSAVE/FRSTOR). `codeSelector`/`eip` are
   * the instruction's CS:EIP for the last-instruction pointer.
   */
  execute(opcode: number, modrm: number, seg: number, offset: number,
    operandSize32: boolean, codeSelector: number, eip: number): void;
  /** True when the status word's ES bit is set (an unmasked exception is pending): the CPU raises #MF on the next waiting instruction. */
  hasPendingException(): boolean;
  /** FNSTSW AX. */
  readStatusWord(): number;
  /** FXSAVE / FXRSTOR of the 512-byte area at seg:offset (x87 part; XMM/MXCSR fields are stored as zero/default since there is no SSE). */
  fxsave(seg: number, offset: number): void;
  fxrstor(seg: number, offset: number): void;
  /**
   * Optional: keep the state in the x87 block (fpu/x87-storage.ts layout) at
   * `byteOffset` of `buffer` from now on, copying it there when `copy`; the
   * JIT homes it in its state frame so generated code can use it.
   */
  home?(buffer: ArrayBufferLike, byteOffset: number, copy: boolean): void;
  /** Snapshot support: named plain fields. */
  saveState(): Record<string, unknown>;
  restoreState(state: Record<string, unknown>): void;
}
