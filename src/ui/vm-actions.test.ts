import { expect, test } from 'vitest';
import { canTransition, VM_STATES } from '../vmm/lifecycle.ts';
import { isActionEnabled, VM_ACTIONS } from './vm-actions.ts';

test('buttons per state', () => {
  const enabled = (state: (typeof VM_STATES)[number]): string[] => VM_ACTIONS.filter((action) => isActionEnabled(action, state));
  expect(enabled('created')).toEqual(['start', 'delete']);
  expect(enabled('starting')).toEqual(['stop', 'delete']);
  expect(enabled('running')).toEqual(['pause', 'reset', 'stop', 'delete']);
  expect(enabled('paused')).toEqual(['resume', 'reset', 'stop', 'delete']);
  expect(enabled('stopped')).toEqual(['start', 'reset', 'delete']);
  expect(enabled('error')).toEqual(['start', 'reset', 'delete']);
  expect(enabled('deleted')).toEqual([]);
});

test('no button offers a transition the lifecycle forbids', () => {
  const target = { start: 'starting', pause: 'paused', resume: 'running', reset: 'starting', stop: 'stopped' } as const;
  for (const state of VM_STATES) {
    for (const action of ['start', 'pause', 'resume', 'reset', 'stop'] as const) {
      if (isActionEnabled(action, state)) expect(canTransition(state, target[action]), `${action} in ${state}`).toBe(true);
    }
  }
});
