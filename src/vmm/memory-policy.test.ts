import { describe, expect, it } from 'vitest';
import { decideMemory, framesToMiB, MemoryPolicy, mibToFrames } from './memory-policy.ts';
import { StateReason } from './shared/protocol.ts';

describe('memory policy', () => {
  it('converts MiB and 4 KiB frames', () => {
    expect(mibToFrames(64)).toBe(16384);
    expect(framesToMiB(256)).toBe(1);
  });

  it('pauses only the VM that reached its own budget', () => {
    const verdicts = decideMemory(
      [
        { id: 'a', residentFrames: 100, budgetFrames: 100, running: true },
        { id: 'b', residentFrames: 99, budgetFrames: 100, running: true },
        { id: 'c', residentFrames: 500, budgetFrames: 0, running: true },
      ],
      new Map(),
      0,
    );
    expect(verdicts.map((v) => v.id)).toEqual(['a']);
    expect(verdicts[0]!.reason).toBe(StateReason.OutOfMemoryBudget);
  });

  it('allows overcommit until the pool is exhausted, then pauses only VMs that grew', () => {
    const policy = new MemoryPolicy(1000);
    const vm = (id: string, frames: number, running = true) => ({ id, residentFrames: frames, budgetFrames: 10_000, running });
    expect(policy.evaluate([vm('a', 300), vm('b', 300), vm('paused', 300, false)])).toEqual([]);
    const verdicts = policy.evaluate([vm('a', 300), vm('b', 450), vm('paused', 300, false)]);
    expect(verdicts.map((v) => v.id)).toEqual(['b']);
    expect(verdicts[0]!.detail).toMatch(/pool is exhausted \(1050 of 1000 frames\)/);
  });

  it('never pauses a VM that is not running, and forgets VMs', () => {
    const policy = new MemoryPolicy(10);
    policy.evaluate([{ id: 'a', residentFrames: 1, budgetFrames: 5, running: false }]);
    expect(policy.evaluate([{ id: 'a', residentFrames: 50, budgetFrames: 5, running: false }])).toEqual([]);
    policy.forget('a');
    expect(policy.evaluate([{ id: 'a', residentFrames: 60, budgetFrames: 0, running: true }])).toEqual([]);
  });
});

describe('decideMemory with a shared frame pool', () => {
  it('counts pooled VMs through the pool and never pauses them for the pool (their allocator does)', () => {
    const previous = new Map([
      ['pooled', 100],
      ['other', 100],
    ]);
    const vms = [
      { id: 'pooled', residentFrames: 500, budgetFrames: 0, running: true, pooled: true },
      { id: 'other', residentFrames: 200, budgetFrames: 0, running: true },
    ];
    // 501 frames used in the pool + 200 private = 701 >= 700: only the growing non-pooled VM pauses.
    expect(decideMemory(vms, previous, 700, 501).map((v) => v.id)).toEqual(['other']);
    expect(decideMemory(vms, previous, 800, 501)).toEqual([]);
  });
});
