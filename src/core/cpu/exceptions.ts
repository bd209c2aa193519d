/**
 * Raising guest exceptions. A guest fault travels from deep inside an
 * instruction to the run loop by throwing ONE preallocated sentinel object
 * (no allocation, no stack capture); the vector and error code are left in
 * CpuCore fields. Anything else thrown inside the core is a host bug.
 *
 * Fault vs trap (SDM Vol. 3A 6.5): faults restart the instruction (the run
 * loop restores EIP = eipStart); traps (INT3, INTO, single-step) report the
 * address of the next instruction and set `excTrap`.
 */
import type { CpuCore } from './state.ts';
import { EX_AC, EX_BP, EX_BR, EX_DE, EX_GP, EX_NM, EX_NP, EX_OF, EX_PF, EX_SS, EX_TS, EX_UD, EX_MF, EX_DB } from './constants.ts';

/** The one object ever thrown for guest exceptions. Compare by identity. */
export const GUEST_FAULT: { readonly guestFault: true } = Object.freeze({ guestFault: true as const });

/** Raise `vector` as a fault (restartable); `code` is the error code or -1 for none. */
export function raise(c: CpuCore, vector: number, code: number): never {
  c.excVector = vector;
  c.excCode = code;
  c.excTrap = false;
  throw GUEST_FAULT;
}

/** Raise `vector` as a trap: the saved EIP is the next instruction's. */
export function raiseTrap(c: CpuCore, vector: number): never {
  c.excVector = vector;
  c.excCode = -1;
  c.excTrap = true;
  throw GUEST_FAULT;
}

export function raiseGP(c: CpuCore, code: number): never { return raise(c, EX_GP, code & 0xffff); }
export function raiseSS(c: CpuCore, code: number): never { return raise(c, EX_SS, code & 0xffff); }
export function raiseNP(c: CpuCore, code: number): never { return raise(c, EX_NP, code & 0xffff); }
export function raiseTS(c: CpuCore, code: number): never { return raise(c, EX_TS, code & 0xffff); }
export function raiseUD(c: CpuCore): never { return raise(c, EX_UD, -1); }
export function raiseNM(c: CpuCore): never { return raise(c, EX_NM, -1); }
export function raiseDE(c: CpuCore): never { return raise(c, EX_DE, -1); }
export function raiseBR(c: CpuCore): never { return raise(c, EX_BR, -1); }
export function raiseMF(c: CpuCore): never { return raise(c, EX_MF, -1); }
export function raiseAC(c: CpuCore): never { return raise(c, EX_AC, 0); }
export function raiseBP(c: CpuCore): never { return raiseTrap(c, EX_BP); }
export function raiseOF(c: CpuCore): never { return raiseTrap(c, EX_OF); }
export function raiseDBTrap(c: CpuCore): never { return raiseTrap(c, EX_DB); }

/** #PF: CR2 = linear address; error code bits P (protection), W/R, U/S (SDM Vol. 3A 4.7). */
export function raisePF(c: CpuCore, lin: number, present: boolean, write: boolean, user: boolean): never {
  c.cr2 = lin | 0;
  return raise(c, EX_PF, (present ? 1 : 0) | (write ? 2 : 0) | (user ? 4 : 0));
}

/** Exception classes for the double-fault rules (SDM Vol. 3A table 6-5). */
export function exceptionClass(v: number): number {
  if (v === EX_PF) return 2;
  if (v === EX_DE || (v >= EX_TS && v <= EX_GP)) return 1;
  return 0;
}

/** True when `second` raised while delivering `first` must become #DF (table 6-5). */
export function isDoubleFault(first: number, second: number): boolean {
  const a = exceptionClass(first);
  const b = exceptionClass(second);
  return (a === 1 && b === 1) || (a === 2 && b !== 0);
}
