/**
 * Every place where the differential harness does NOT compare a result, with
 * the reason. Two kinds:
 *
 *  - UNDEFINED_RULES: results the architecture leaves undefined. References
 *    are to the Intel 64 and IA-32 Architectures Software Developer's Manual
 *    (order no. 325462), Volume 2 instruction reference (Vol. 2A ch. 3 =
 *    instructions A-L, Vol. 2B ch. 4 = M-U, Vol. 2C/2D = V-Z), section
 *    "Flags Affected" of the named instruction page unless stated otherwise.
 *    The AMD APM Vol. 3 says the same for every rule here, except where noted.
 *  - ENVIRONMENT_RULES: differences between "ring 3 under Linux on a real CPU"
 *    and "ring 3 in our emulator" that are not CPU behaviour.
 *
 * The generator (gen.ts) attaches the rule ids it applied to each case, so a
 * mismatch report can say which masks were in force.
 */

export const CF = 0x0001;
export const PF = 0x0004;
export const AF = 0x0010;
export const ZF = 0x0040;
export const SF = 0x0080;
export const TF = 0x0100;
export const IF = 0x0200;
export const DF = 0x0400;
export const OF = 0x0800;
export const IOPL = 0x3000;
export const NT = 0x4000;
export const RF = 0x10000;
export const VM = 0x20000;
export const AC = 0x40000;
export const VIF = 0x80000;
export const VIP = 0x100000;
export const ID = 0x200000;
/** The six status flags. */
export const ARITH = CF | PF | AF | ZF | SF | OF;

export interface UndefinedRule {
  /** EFLAGS bits left undefined when the rule applies. */
  readonly flags: number;
  /** What else is undefined (registers / memory), if anything. */
  readonly other?: string;
  /** When the rule applies. */
  readonly when: string;
  /** Where the SDM says so. */
  readonly sdm: string;
}

export const UNDEFINED_RULES = {
  logicAf: {
    flags: AF,
    when: 'AND, OR, XOR, TEST (every form)',
    sdm: 'Vol. 2A ch. 3 "AND"; Vol. 2B ch. 4 "OR", "TEST"; Vol. 2C/2D "XOR": "The state of the AF flag is undefined."',
  },
  shiftAf: {
    flags: AF,
    when: 'SAL/SHL/SHR/SAR with a non-zero masked count (count & 31)',
    sdm: 'Vol. 2B ch. 4 "SAL/SAR/SHL/SHR": "For a non-zero count, the AF flag is undefined."',
  },
  shiftOf: {
    flags: OF,
    when: 'SAL/SHL/SHR/SAR with masked count > 1',
    sdm: 'Vol. 2B ch. 4 "SAL/SAR/SHL/SHR": "The OF flag is affected only on 1-bit shifts; for other shifts it is undefined" (count 0: flags unaffected).',
  },
  shiftCfWide: {
    flags: CF,
    when: 'SHL/SAL/SHR (not SAR) on 8- or 16-bit operands with masked count >= operand width',
    sdm: 'Vol. 2B ch. 4 "SAL/SAR/SHL/SHR": "CF ... is undefined for SHL and SHR instructions where the count is greater than or equal to the size (in bits) of the destination operand."',
  },
  rotateOf: {
    flags: OF,
    when: 'ROL/ROR/RCL/RCR with masked count (count & 31) > 1',
    sdm: 'Vol. 2B ch. 4 "RCL/RCR/ROL/ROR": "If the masked count is 1 the OF flag is affected, otherwise (masked count is greater than 1) the OF flag is undefined."',
  },
  shldAfOf: {
    flags: AF | OF,
    when: 'SHLD/SHRD with masked count != 0: AF always; OF when masked count > 1 (the generator applies the two bits separately)',
    sdm: 'Vol. 2B ch. 4 "SHLD", "SHRD": "For shifts greater than 1 bit, the OF flag is undefined. If a shift occurs, the AF flag is undefined."',
  },
  shldBig: {
    flags: ARITH,
    other: 'the destination (16 bits, register or memory)',
    when: 'SHLD/SHRD with a 16-bit operand and masked count > 16',
    sdm: 'Vol. 2B ch. 4 "SHLD", "SHRD": "If the count is greater than the operand size, the result is undefined" and "If the count is greater than the operand size, the flags are undefined."',
  },
  mulFlags: {
    flags: SF | ZF | AF | PF,
    when: 'MUL; IMUL (one-, two- and three-operand forms)',
    sdm: 'Vol. 2B ch. 4 "MUL" and Vol. 2A ch. 3 "IMUL": "The SF, ZF, AF, and PF flags are undefined."',
  },
  divFlags: {
    flags: ARITH,
    when: 'DIV, IDIV (when they complete)',
    sdm: 'Vol. 2A ch. 3 "DIV", "IDIV": "The CF, OF, SF, ZF, AF, and PF flags are undefined."',
  },
  btFlags: {
    flags: OF | SF | AF | PF,
    when: 'BT, BTS, BTR, BTC (ZF unaffected, CF defined)',
    sdm: 'Vol. 2A ch. 3 "BT", "BTC", "BTR", "BTS": "The ZF flag is unaffected. The OF, SF, AF, and PF flags are undefined."',
  },
  bsfFlags: {
    flags: CF | OF | SF | AF | PF,
    when: 'BSF, BSR',
    sdm: 'Vol. 2A ch. 3 "BSF", "BSR": "The CF, OF, SF, AF, and PF flags are undefined."',
  },
  bsfZeroDest: {
    flags: 0,
    other: 'the destination register (its operand-size part)',
    when: 'BSF, BSR with a zero source (Intel CPUs leave it unchanged; AMD documents "unchanged")',
    sdm: 'Vol. 2A ch. 3 "BSF", "BSR": "If the content of the source operand is 0, the content of the destination operand is undefined."',
  },
  bswap16: {
    flags: 0,
    other: 'the low 16 bits of the register',
    when: 'BSWAP with an operand-size prefix (16-bit register)',
    sdm: 'Vol. 2A ch. 3 "BSWAP": "When the BSWAP instruction references a 16-bit register, the result is undefined."',
  },
  daaOf: {
    flags: OF,
    when: 'DAA, DAS',
    sdm: 'Vol. 2A ch. 3 "DAA", "DAS": "The OF flag is undefined."',
  },
  aaaFlags: {
    flags: OF | SF | ZF | PF,
    when: 'AAA, AAS',
    sdm: 'Vol. 2A ch. 3 "AAA", "AAS": "The OF, SF, ZF, and PF flags are undefined."',
  },
  aamFlags: {
    flags: OF | AF | CF,
    when: 'AAM, AAD (when they complete)',
    sdm: 'Vol. 2A ch. 3 "AAM", "AAD": "The OF, AF, and CF flags are undefined."',
  },
  pushSregHigh: {
    flags: 0,
    other: 'the upper 2 bytes of the 4-byte stack slot',
    when: 'PUSH CS/SS/DS/ES/FS/GS with 32-bit operand size',
    sdm: 'Vol. 2B ch. 4 "PUSH": "If the source operand is a segment register (16 bits) and the operand size is 32-bits, either a zero-extended value is pushed on the stack or the segment selector is written on the stack using a 16-bit move."',
  },
} as const satisfies Record<string, UndefinedRule>;

export type UndefinedRuleId = keyof typeof UNDEFINED_RULES;

export interface EnvironmentRule {
  readonly what: string;
  readonly why: string;
}

/** Not CPU behaviour: how the comparison adapts to "Linux process" vs "bare emulator". */
export const ENVIRONMENT_RULES = {
  faultRf: {
    what: 'EFLAGS.RF is ignored when comparing the state at a fault',
    why: 'The native state at a fault is the EFLAGS image the CPU pushed for the kernel, which has RF set for faults (SDM Vol. 3A §18.3.1.1); the emulator reports its live EFLAGS.',
  },
  pfFetchBit: {
    what: 'Page-fault error code bit 4 (I/D) is ignored',
    why: 'The host kernel runs with NX (PAE/long-mode paging), where instruction-fetch faults set I/D; the emulator uses 32-bit paging without NX, where the bit is reserved as 0 (SDM Vol. 3A §4.7).',
  },
  nullSelectorRpl: {
    what: 'A null selector in ES, DS, FS or GS is compared as null only: 0x0000-0x0003 are equal',
    why: 'IRET to an outer privilege level zeroes ES/DS/FS/GS when their hidden descriptor is not usable at the new CPL (SDM Vol. 2A, IRET, RETURN-TO-OUTER-PRIVILEGE-LEVEL); Intel CPUs apply this to a loaded null selector of RPL 1-3, AMD CPUs keep it. Linux returns to user mode through IRET after interrupts and page faults, so whether the host reports 1-3 or 0 depends on the CPU vendor and on timing. Seen in CI: MOV ES with selector 3, then #GP; the host reported ES = 0, this AMD machine ES = 3.',
  },
  staleFlagsOnRepTrap: {
    what: 'Where the host shows it (a probe at the start of the run, native.ts hostQuirks): the status flags are not compared at a single-step #DB that stops a REPE/REPNE CMPS/SCAS between iterations (EIP still at the instruction)',
    why: 'Each iteration of CMPS/SCAS sets the status flags (SDM Vol. 2B, CMPS, SCAS), and the emulator reports them. The host of 2026-11-29 (Linux 6.18 under a nested hypervisor) reports the flags from before the instruction for such a trap, though ECX and EDI show the iteration done (C probe: REPNE SCASD with ECX = 2 traps with ECX = 1, EDI + 4, flags unchanged, RF set; after the last iteration the flags are right). Hosts that report the iteration\'s flags are compared in full.',
  },
  cr2OnlyForPf: {
    what: 'CR2 is compared only for #PF',
    why: 'Linux reports a stale CR2 in the signal frame for other exceptions.',
  },
  trapEip: {
    what: 'Trap-class exceptions (#BP from INT3, #OF from INTO, INT 3/INT 4 through their DPL-3 gates) are compared with EIP after the instruction on both sides',
    why: 'Linux reports the trap frame EIP; the emulator with trapExceptions reports the next EIP for traps (exceptions.ts), and the runner reads software-INT frames back from its ring-0 stack.',
  },
  icebpExcluded: {
    what: 'INT1/ICEBP (F1) is not generated',
    why: 'Under KVM on AMD hosts the reported EIP for ICEBP is not reliable (the hypervisor intercepts it).',
  },
  gsNotUsed: {
    what: 'GS-relative memory operands are generated only after the snippet loaded GS with a flat selector; both sides start the snippet with GS = 0 (null)',
    why: 'A process\'s own GS (the i386 TLS block) has a base the emulator cannot know, so the native runner loads null before each snippet and restores GS after.',
  },
  selectors: {
    what: 'Segment loads (MOV/POP Sreg, LDS/LES/LFS/LGS/LSS) use only selectors whose descriptors match: null, 0x08-0x1b (DPL 0), 0x20-0x2b (flat user code/data), beyond the GDT limit, LDT selectors',
    why: 'The rest of Linux\'s GDT (64-bit code 0x33, TLS, per-CPU 0x7b) has no counterpart in the emulator\'s GDT.',
  },
  cpuModel: {
    what: 'Instructions whose existence depends on the CPU model are not generated: SYSCALL/SYSRET/SYSENTER/SYSEXIT, 0F 0D (3DNow! PREFETCH), F3 0F B8/BC/BD (POPCNT/TZCNT/LZCNT), SSE and later',
    why: 'The emulator is a Pentium II-class CPU; the host is a modern x86-64 CPU.',
  },
  umipAndPrivilegedReads: {
    what: 'SGDT/SIDT/SLDT/STR/SMSW, RDTSC/RDTSCP/RDPMC, CPUID, LAR/LSL/VERR/VERW are not generated',
    why: 'Their results depend on the host (UMIP emulation by the kernel, the host\'s descriptor tables, time, CPU model).',
  },
  vexEvex: {
    what: 'C4/C5 (LES/LDS) and BOUND with a register operand are not generated',
    why: 'In 32-bit mode a modern host decodes them as VEX/EVEX prefixes.',
  },
} as const satisfies Record<string, EnvironmentRule>;
