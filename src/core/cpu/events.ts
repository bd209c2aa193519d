/**
 * What happens between instructions and when an instruction faults:
 * single-step traps (SDM Vol. 3A 17.3.1.4), HLT wake-up, the STI/MOV SS
 * interrupt shadow, external interrupt acknowledge and delivery, exception
 * delivery with #DF escalation and triple-fault shutdown (SDM Vol. 3A 6.15
 * table 6-5), and wrapping host (JS) errors with the guest location.
 */
import type { CpuCore } from './state.ts';
import {
  EX_DB, EX_DF, F_IF, F_TF, S_CS, SHADOW_MOV_SS, vectorHasErrorCode,
  STOP_EXCEPTION, STOP_HALTED, STOP_HALTED_NOINT, STOP_REQUESTED, STOP_SHUTDOWN,
} from './constants.ts';
import { GUEST_FAULT, isDoubleFault } from './exceptions.ts';
import { deliverInterrupt } from './interrupts.ts';
import { getEip } from './fetch.ts';
import { setEipRaw } from './tlb.ts';
import { debugRead8 } from './debug-memory.ts';

/** Work between instructions (only called when c.events !== 0). Returns true when the run must stop. */
export function serviceEvents(c: CpuCore): boolean {
  if (c.stopRequested) {
    c.stopRequested = false;
    c.stopReason = STOP_REQUESTED;
    return true;
  }
  if (c.shadow === SHADOW_MOV_SS) {
    // MOV SS / POP SS: interrupts and debug traps, single-step included, wait
    // until the next instruction has completed (SDM Vol. 3A 6.8.3), so a
    // stack switch (MOV SS; MOV ESP) is never split. A pending trap stays armed.
    c.shadow = 0;
    c.events = 1;
    return false;
  }
  if (c.tfArmed) {
    // Single-step trap after the previous instruction.
    c.tfArmed = false;
    c.dr[6] |= 0x4000; // DR6.BS
    c.eipStart = getEip(c);
    if (c.trapExceptions) {
      c.exceptionVector = EX_DB;
      c.exceptionErrorCode = -1;
      c.stopReason = STOP_EXCEPTION;
      c.events = 1;
      return true;
    }
    deliverInterrupt(c, EX_DB, -1, false, 1);
  }
  const ifSet = (c.flags & F_IF) !== 0;
  if (c.halted && !(c.intLine && ifSet)) {
    c.stopReason = ifSet ? STOP_HALTED : STOP_HALTED_NOINT;
    return true;
  }
  if (c.shadow !== 0) {
    // STI / MOV SS / POP SS shadow: no interrupt and no single-step arm before the next instruction.
    c.shadow = 0;
    c.events = 1;
    return false;
  }
  if (c.intLine && ifSet) {
    const vec = c.host.acknowledgeInterrupt() & 0xff;
    c.eipStart = getEip(c);
    deliverInterrupt(c, vec, -1, false, 1);
  }
  if ((c.flags & F_TF) !== 0) c.tfArmed = true;
  c.events = c.tfArmed || c.stopRequested || (c.intLine && (c.flags & F_IF) !== 0) ? 1 : 0;
  return false;
}

/** A guest exception escaped an instruction or an event. Returns true when the run must stop. */
export function handleFault(c: CpuCore): boolean {
  const vec = c.excVector;
  const code = c.excCode;
  if (!c.excTrap) setEipRaw(c, c.eipStart);
  c.pfx = 1;
  c.tfArmed = false; // a faulting instruction is not single-stepped
  c.halted = false;
  c.events = 1;
  if (c.trapExceptions) {
    c.exceptionVector = vec;
    c.exceptionErrorCode = code;
    c.stopReason = STOP_EXCEPTION;
    return true;
  }
  return deliverException(c, vec, code);
}

function deliverException(c: CpuCore, vec: number, code: number): boolean {
  let v = vec;
  let cd = vectorHasErrorCode(v) ? code : -1;
  const chain: number[] = [v];
  for (;;) {
    try {
      deliverInterrupt(c, v, cd, false, 1);
      return false;
    } catch (e) {
      if (e !== GUEST_FAULT) throw hostError(c, e);
      const second = c.excVector;
      chain.push(second);
      if (v === EX_DF || chain.length > 4) {
        c.shutdown = true;
        c.stopReason = STOP_SHUTDOWN;
        c.shutdownReason = `triple fault: ${chain.map(vectorName).join(' -> ')} at CS:EIP=${c.segSel[S_CS].toString(16)}:${hex(c.eipStart)}`;
        return true;
      }
      if (isDoubleFault(v, second)) {
        v = EX_DF;
        cd = 0;
      } else {
        v = second;
        cd = vectorHasErrorCode(second) ? c.excCode : -1;
      }
    }
  }
}

function hex(v: number): string {
  return (v >>> 0).toString(16).padStart(8, '0');
}

const NAMES = ['#DE', '#DB', 'NMI', '#BP', '#OF', '#BR', '#UD', '#NM', '#DF', '9', '#TS', '#NP', '#SS', '#GP', '#PF', '15', '#MF', '#AC'];

function vectorName(v: number): string {
  return v < NAMES.length ? NAMES[v] : 'vector ' + String(v);
}

/** Wrap a host (JS) error with the guest location and instruction bytes. */
export function hostError(c: CpuCore, e: unknown): Error {
  const eip = c.eipStart;
  const bytes: string[] = [];
  for (let i = 0; i < 16; i++) {
    const b = debugRead8(c, (c.segBase[S_CS] + eip + i) | 0);
    bytes.push(b < 0 ? '??' : b.toString(16).padStart(2, '0'));
  }
  const msg = e instanceof Error ? e.message : String(e);
  return new Error(`tabvisor cpu: host error at CS:EIP=${c.segSel[S_CS].toString(16)}:${hex(eip)} bytes ${bytes.join(' ')}: ${msg}`, { cause: e });
}
