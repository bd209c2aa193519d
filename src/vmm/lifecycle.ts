/**
 * The VM lifecycle as a table of legal transitions:
 *
 *   created -> starting -> running <-> paused
 *                 ^          |          |
 *                 +-- reset -+----------+
 *   running/paused -> stopped | error ;  stopped/error -> starting (start, reset)
 *   created/stopped/error -> deleted
 *
 * 'error' and 'stopped' carry a reason (triple fault, worker crashed, poweroff);
 * 'paused' may carry one too (out of memory budget). Anything else is an
 * IllegalTransitionError that names the VM and both states.
 */

export type VmState = 'created' | 'starting' | 'running' | 'paused' | 'stopped' | 'error' | 'deleted';

export const VM_STATES: readonly VmState[] = ['created', 'starting', 'running', 'paused', 'stopped', 'error', 'deleted'];

const TRANSITIONS: Readonly<Record<VmState, readonly VmState[]>> = {
  created: ['starting', 'deleted'],
  starting: ['running', 'paused', 'stopped', 'error'],
  running: ['paused', 'starting', 'stopped', 'error'],
  paused: ['running', 'starting', 'stopped', 'error'],
  stopped: ['starting', 'deleted'],
  error: ['starting', 'stopped', 'deleted'],
  deleted: [],
};

export class IllegalTransitionError extends Error {
  override name = 'IllegalTransitionError';
  constructor(
    readonly vmId: string,
    readonly from: VmState,
    readonly to: VmState,
    action?: string,
  ) {
    super(`${action ? `cannot ${action} ${vmId}` : `${vmId}: illegal transition`}: it is ${from}${action ? '' : `, not allowed to become ${to}`}`);
  }
}

export function canTransition(from: VmState, to: VmState): boolean {
  return TRANSITIONS[from].includes(to);
}

export function allowedTransitions(from: VmState): readonly VmState[] {
  return TRANSITIONS[from];
}

/** A worker exists and may be consuming resources. */
export function isActive(state: VmState): boolean {
  return state === 'starting' || state === 'running' || state === 'paused';
}
