import { describe, expect, it } from 'vitest';
import { allowedTransitions, canTransition, IllegalTransitionError, isActive, VM_STATES } from './lifecycle.ts';

describe('lifecycle', () => {
  it('follows created -> starting -> running <-> paused -> stopped', () => {
    expect(canTransition('created', 'starting')).toBe(true);
    expect(canTransition('starting', 'running')).toBe(true);
    expect(canTransition('running', 'paused')).toBe(true);
    expect(canTransition('paused', 'running')).toBe(true);
    expect(canTransition('paused', 'stopped')).toBe(true);
    expect(canTransition('stopped', 'starting')).toBe(true);
  });

  it('lets every live state fail, and only dead states be deleted', () => {
    for (const s of ['starting', 'running', 'paused'] as const) {
      expect(canTransition(s, 'error')).toBe(true);
      expect(canTransition(s, 'deleted')).toBe(false);
      expect(isActive(s)).toBe(true);
    }
    for (const s of ['created', 'stopped', 'error'] as const) expect(canTransition(s, 'deleted')).toBe(true);
    expect(allowedTransitions('deleted')).toEqual([]);
  });

  it('refuses the rest', () => {
    expect(canTransition('created', 'running')).toBe(false);
    expect(canTransition('stopped', 'paused')).toBe(false);
    expect(canTransition('error', 'running')).toBe(false);
    for (const s of VM_STATES) expect(canTransition(s, s)).toBe(false);
  });

  it('names the VM, the state and the action in its error', () => {
    expect(new IllegalTransitionError('vm-3', 'stopped', 'paused', 'pause').message).toBe('cannot pause vm-3: it is stopped');
    expect(new IllegalTransitionError('vm-3', 'stopped', 'paused').message).toMatch(/vm-3.*stopped.*paused/);
  });
});
