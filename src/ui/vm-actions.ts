/**
 * Which lifecycle buttons a VM offers in each state (see src/vmm/lifecycle.ts
 * and the coordinator's operations). A button is enabled only when the
 * coordinator would accept the operation and it does something useful.
 */
import type { VmState } from '../vmm/lifecycle.ts';

export const VM_ACTIONS = ['start', 'pause', 'resume', 'reset', 'stop', 'delete'] as const;
export type VmAction = (typeof VM_ACTIONS)[number];

/** The exact accessible names of the buttons. */
export const ACTION_LABELS: Record<VmAction, string> = {
  start: 'Start',
  pause: 'Pause',
  resume: 'Resume',
  reset: 'Reset',
  stop: 'Stop',
  delete: 'Delete',
};

const ENABLED: Record<VmAction, readonly VmState[]> = {
  start: ['created', 'stopped', 'error'],
  pause: ['running'],
  resume: ['paused'],
  // A created VM is started, not reset (the coordinator would accept both).
  reset: ['running', 'paused', 'stopped', 'error'],
  stop: ['starting', 'running', 'paused'],
  // Deleting an active VM stops it first.
  delete: ['created', 'starting', 'running', 'paused', 'stopped', 'error'],
};

export function isActionEnabled(action: VmAction, state: VmState): boolean {
  return ENABLED[action].includes(state);
}
