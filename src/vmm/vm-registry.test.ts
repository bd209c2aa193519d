import { describe, expect, it } from 'vitest';
import { IllegalTransitionError } from './lifecycle.ts';
import { ConfigError, UnknownVmError, VmRegistry, type VmStateChange } from './vm-registry.ts';

const image = { kind: 'synthetic', synthetic: { behaviour: 'idle' } } as const;

describe('VmRegistry', () => {
  it('fills defaults and validates the config', () => {
    const registry = new VmRegistry();
    const vm = registry.add({ image, ramMiB: 128 });
    expect(vm).toMatchObject({ id: 'vm-1', state: 'created', config: { name: 'vm-1', ramMiB: 128, cpuWeight: 1, cpuCapPercent: 100, memoryBudgetMiB: 128 } });
    expect(() => registry.add({ image, ramMiB: 1.5 })).toThrow(ConfigError);
    expect(() => registry.add({ image, cpuCapPercent: 150 })).toThrow(/cpuCapPercent must be a number in 1..100/);
    expect(() => registry.add({ image, cpuWeight: 0 })).toThrow(ConfigError);
    expect(registry.add({ image, name: 'web' }).config.name).toBe('web');
  });

  it('applies legal transitions with reasons and fires typed events', () => {
    const registry = new VmRegistry();
    const changes: VmStateChange[] = [];
    registry.onStateChange((c) => changes.push(c));
    const { id } = registry.add({ image });
    registry.transition(id, 'starting');
    registry.transition(id, 'running');
    registry.transition(id, 'paused');
    registry.transition(id, 'paused', 'out of memory budget', '300 frames');
    registry.transition(id, 'paused', 'out of memory budget', '300 frames');
    registry.transition(id, 'error', 'worker crashed');
    expect(changes.map((c) => `${c.from}>${c.to}${c.reason ? `:${c.reason}` : ''}`)).toEqual([
      'created>starting',
      'starting>running',
      'running>paused',
      'paused>paused:out of memory budget',
      'paused>error:worker crashed',
    ]);
    expect(registry.get(id)).toMatchObject({ state: 'error', reason: 'worker crashed' });
  });

  it('refuses illegal transitions and unknown ids', () => {
    const registry = new VmRegistry();
    const { id } = registry.add({ image });
    expect(() => registry.transition(id, 'running')).toThrow(IllegalTransitionError);
    expect(() => registry.check(id, 'paused', 'pause')).toThrow('cannot pause vm-1: it is created');
    expect(() => registry.get('vm-9')).toThrow(UnknownVmError);
  });

  it('forgets deleted VMs after telling listeners', () => {
    const registry = new VmRegistry();
    const { id } = registry.add({ image });
    let seen = '';
    registry.onStateChange((c) => (seen = c.to));
    registry.transition(id, 'deleted');
    expect(seen).toBe('deleted');
    expect(registry.list()).toEqual([]);
    expect(registry.has(id)).toBe(false);
  });

  it('updates the CPU share and budget of a VM', () => {
    const registry = new VmRegistry();
    const { id } = registry.add({ image });
    expect(registry.update(id, { cpuWeight: 3, memoryBudgetMiB: 8 }).config).toMatchObject({ cpuWeight: 3, memoryBudgetMiB: 8 });
    expect(() => registry.update(id, { cpuCapPercent: 0 })).toThrow(ConfigError);
  });
});
