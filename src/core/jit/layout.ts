/**
 * The JIT's state frame: one 4 KiB frame of the guest memory pool that both
 * the TypeScript side and the generated WebAssembly address. The JS side
 * copies the registers in before a block runs and out after it (eight
 * stores each way, far cheaper than keeping every interpreter access on a
 * typed array over a memory that may be replaced when the pool grows).
 * Offsets are bytes from the frame's start.
 */
export const ST_REGS = 0;
/** Guest EIP to continue at after a block returns. */
export const ST_EIP = 32;
/** Lazy flags as the region left them (copied back into the CPU after every run, with ST_FLAGS). */
export const ST_LOP = 36;
export const ST_LDST = 40;
export const ST_LSRC = 44;
export const ST_LRES = 48;
export const ST_LSZ = 52;
export const ST_LCIN = 56;
/** EFLAGS image: materialised by the dispatcher at entry, updated by the region where it folds lazy flags. */
export const ST_FLAGS = 60;
/** The TLB epoch key (CpuCore.tlbKey) at entry. */
export const ST_TLBKEY = 64;
/** EIP of the instruction that called a slow path (a fault restarts it). */
export const ST_FAULT_EIP = 68;
/** Instructions completed in this block call before that instruction. */
export const ST_FAULT_DONE = 72;
/** Set by the slow paths when the block must stop after the current instruction (events pending, code invalidated). */
export const ST_EXIT_REQ = 76;

/** Tag/delta arrays of the software TLB that generated code reads, one frame each (TLB_SIZE = 1024 int32). */
export const TLB_RD_SYS = 0;
export const TLB_WR_SYS = 1;
export const TLB_RD_USR = 2;
export const TLB_WR_USR = 3;
export const TLB_DELTA = 4;
export const TLB_FRAMES = 5;
