/**
 * Architectural constants shared by the CPU modules: EFLAGS and control
 * register bits, exception vectors, segment numbers and descriptor bits.
 * Values are from the Intel SDM Vol. 3A (ch. 2.3 EFLAGS, 2.5 control
 * registers, 3.4.5 segment descriptors, 6.3 exception vectors).
 */

// --- EFLAGS (SDM Vol. 1 3.4.3) ---
export const F_CF = 0x1;
export const F_PF = 0x4;
export const F_AF = 0x10;
export const F_ZF = 0x40;
export const F_SF = 0x80;
export const F_TF = 0x100;
export const F_IF = 0x200;
export const F_DF = 0x400;
export const F_OF = 0x800;
export const F_IOPL = 0x3000;
export const F_NT = 0x4000;
export const F_RF = 0x10000;
export const F_VM = 0x20000;
export const F_AC = 0x40000;
export const F_VIF = 0x80000;
export const F_VIP = 0x100000;
export const F_ID = 0x200000;
/** The six arithmetic status flags kept lazily. */
export const F_ARITH = F_CF | F_PF | F_AF | F_ZF | F_SF | F_OF;
/** Bit 1 of EFLAGS always reads as 1. */
export const F_FIXED1 = 0x2;

// --- CR0 (SDM Vol. 3A 2.5) ---
export const CR0_PE = 0x1;
export const CR0_MP = 0x2;
export const CR0_EM = 0x4;
export const CR0_TS = 0x8;
export const CR0_ET = 0x10;
export const CR0_NE = 0x20;
export const CR0_WP = 0x10000;
export const CR0_AM = 0x40000;
export const CR0_NW = 0x20000000;
export const CR0_CD = 0x40000000;
export const CR0_PG = 0x80000000 | 0;

// --- CR4 ---
export const CR4_VME = 0x1;
export const CR4_PVI = 0x2;
export const CR4_TSD = 0x4;
export const CR4_DE = 0x8;
export const CR4_PSE = 0x10;
export const CR4_PAE = 0x20;
export const CR4_MCE = 0x40;
export const CR4_PGE = 0x80;
export const CR4_PCE = 0x100;
export const CR4_OSFXSR = 0x200;
export const CR4_OSXMMEXCPT = 0x400;
/** CR4 bits this CPU accepts; setting any other bit is #GP(0) (no VME/PVI/PAE). */
export const CR4_SUPPORTED = CR4_TSD | CR4_DE | CR4_PSE | CR4_MCE | CR4_PGE | CR4_PCE | CR4_OSFXSR | CR4_OSXMMEXCPT;

// --- Exception vectors (SDM Vol. 3A 6.3.1) ---
export const EX_DE = 0;
export const EX_DB = 1;
export const EX_NMI = 2;
export const EX_BP = 3;
export const EX_OF = 4;
export const EX_BR = 5;
export const EX_UD = 6;
export const EX_NM = 7;
export const EX_DF = 8;
export const EX_TS = 10;
export const EX_NP = 11;
export const EX_SS = 12;
export const EX_GP = 13;
export const EX_PF = 14;
export const EX_MF = 16;
export const EX_AC = 17;

/** Vectors that push an error code (SDM Vol. 3A table 6-1). */
export function vectorHasErrorCode(v: number): boolean {
  return v === EX_DF || (v >= EX_TS && v <= EX_PF) || v === EX_AC;
}

// --- Segment register numbers (host.ts Seg) plus the two system registers ---
export const S_ES = 0;
export const S_CS = 1;
export const S_SS = 2;
export const S_DS = 3;
export const S_FS = 4;
export const S_GS = 5;
/** LDTR and TR live in the same cache arrays after the six segment registers. */
export const S_LDTR = 6;
export const S_TR = 7;

// --- Descriptor access byte (SDM Vol. 3A 3.4.5) as kept in segFlags bits 0..7 ---
export const D_ACCESSED = 0x1;
export const D_RW = 0x2; // readable (code) / writable (data)
export const D_CE = 0x4; // conforming (code) / expand-down (data)
export const D_CODE = 0x8;
export const D_S = 0x10; // code/data (1) vs system (0)
export const D_DPL_SHIFT = 5;
export const D_PRESENT = 0x80;
// flags nibble, kept in segFlags bits 8..11
export const D_AVL = 0x100;
export const D_DB = 0x400; // default operand size / big
export const D_G = 0x800;

// --- Paging entry bits (SDM Vol. 3A 4.3) ---
export const PG_P = 0x1;
export const PG_RW = 0x2;
export const PG_US = 0x4;
export const PG_A = 0x20;
export const PG_D = 0x40;
export const PG_PS = 0x80;
export const PG_G = 0x100;

// --- MSRs this CPU implements (SDM Vol. 4) ---
export const MSR_TSC = 0x10;
export const MSR_PLATFORM_ID = 0x17;
export const MSR_BIOS_SIGN = 0x8b;
export const MSR_SYSENTER_CS = 0x174;
export const MSR_SYSENTER_ESP = 0x175;
export const MSR_SYSENTER_EIP = 0x176;

/** Stop reasons mirrored as plain numbers for the hot loop (see host.ts StopReason). */
export const STOP_BUDGET = 0;
export const STOP_HALTED = 1;
export const STOP_SHUTDOWN = 2;
export const STOP_REQUESTED = 3;
export const STOP_EXCEPTION = 4;
export const STOP_HALTED_NOINT = 5;

// --- interrupt shadows (CpuCore.shadow) ---
/** After STI: external interrupts wait one instruction (SDM Vol. 2B STI). */
export const SHADOW_STI = 1;
/** After MOV SS / POP SS: interrupts and debug traps wait one instruction (SDM Vol. 3A 6.8.3). */
export const SHADOW_MOV_SS = 2;
