/**
 * Public entry point of the IA-32 CPU core: the Cpu class, its snapshot
 * type, the disassembler and the host/FPU contracts.
 */
export { Cpu } from './cpu.ts';
export type { CpuState, SegmentState } from './cpu.ts';
export { disassemble } from './disasm.ts';
export type { DisasmResult } from './disasm.ts';
export { StopReason, Reg, Seg } from './host.ts';
export type { CpuHost, AccessSize } from './host.ts';
export type { FpuHost, FpuUnit } from './fpu/fpu-host.ts';
export { OPCODE_ROWS } from './opcode-table.ts';
export type { OpcodeRow } from './opcode-table.ts';
