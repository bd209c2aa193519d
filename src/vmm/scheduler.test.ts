import { describe, expect, it } from 'vitest';
import { allocateCpu, CpuScheduler, estimateDemand, type CpuClaim, type SchedulerTarget } from './scheduler.ts';
import { ControlBlock, Counter } from './shared/control-block.ts';

const hungry = (id: string, weight: number, limitMs = 50): CpuClaim => ({ id, weight, limitMs, demandMs: Infinity });
const sum = (m: Map<string, number>) => [...m.values()].reduce((a, b) => a + b, 0);

describe('allocateCpu', () => {
  it('shares in proportion to weight', () => {
    const g = allocateCpu([hungry('a', 1), hungry('b', 2), hungry('c', 1)], 50);
    expect(g.get('a')).toBeCloseTo(12.5);
    expect(g.get('b')).toBeCloseTo(25);
    expect(g.get('c')).toBeCloseTo(12.5);
  });

  it('never gives a VM more than its cap, and gives the rest to the others', () => {
    const g = allocateCpu([hungry('capped', 10, 10), hungry('b', 1), hungry('c', 1)], 50);
    expect(g.get('capped')).toBeCloseTo(10);
    expect(g.get('b')).toBeCloseTo(20);
    expect(g.get('c')).toBeCloseTo(20);
  });

  it('is work-conserving: what an idle VM does not need flows to busy ones', () => {
    const g = allocateCpu([{ id: 'idle', weight: 5, limitMs: 50, demandMs: 1 }, hungry('b', 1), hungry('c', 3)], 50);
    expect(g.get('idle')).toBeCloseTo(1);
    expect(g.get('b')).toBeCloseTo(12.25);
    expect(g.get('c')).toBeCloseTo(36.75);
    expect(sum(g)).toBeCloseTo(50);
  });

  it('cascades limits until the rest is shared by weight', () => {
    const g = allocateCpu([hungry('a', 1, 4), hungry('b', 1, 10), hungry('c', 1), hungry('d', 1)], 60);
    expect(g.get('a')).toBeCloseTo(4);
    expect(g.get('b')).toBeCloseTo(10);
    expect(g.get('c')).toBeCloseTo(23);
    expect(g.get('d')).toBeCloseTo(23);
  });

  it('leaves capacity unused only when every VM is at its limit', () => {
    const g = allocateCpu([hungry('a', 1, 50), hungry('b', 1, 50)], 150);
    expect(sum(g)).toBeCloseTo(100);
  });

  it('gives nothing to zero weights or zero caps, and handles no capacity', () => {
    const g = allocateCpu([hungry('a', 0), hungry('b', 1, 0), hungry('c', 1)], 10);
    expect(g.get('a')).toBe(0);
    expect(g.get('b')).toBe(0);
    expect(g.get('c')).toBeCloseTo(10);
    expect(allocateCpu([hungry('a', 1)], 0).get('a')).toBe(0);
    expect(allocateCpu([], 10).size).toBe(0);
  });
});

describe('estimateDemand', () => {
  const base = { elapsedMs: 50, usedMs: 0, throttledMs: 0, haltedMs: 0, grantedMs: 20 };
  it('treats a new VM, a throttled one and one that used its grant as hungry', () => {
    expect(estimateDemand(undefined, 50)).toBe(Infinity);
    expect(estimateDemand({ ...base, usedMs: 5, throttledMs: 1 }, 50)).toBe(Infinity);
    expect(estimateDemand({ ...base, usedMs: 19 }, 50)).toBe(Infinity);
  });
  it('gives a halted VM a little more than it used', () => {
    expect(estimateDemand({ ...base, usedMs: 2, haltedMs: 45 }, 50)).toBe(4);
    expect(estimateDemand({ ...base, usedMs: 0, haltedMs: 50 }, 50)).toBe(1);
  });
  it('keeps the share of a VM the host did not schedule', () => {
    expect(estimateDemand({ ...base, usedMs: 3 }, 50)).toBe(Infinity);
  });
});

describe('CpuScheduler', () => {
  /** A worker stand-in: uses its whole balance (busy) or a fixed amount and halts (idle). */
  function fakeVm(id: string, weight: number, capPercent: number, behaviour: 'busy' | 'idle') {
    const control = ControlBlock.create(true);
    const counters = ControlBlock.counterArray();
    const target: SchedulerTarget = { id, weight, capPercent, control };
    return {
      target,
      runPeriod(periodMs: number) {
        const balanceMs = Math.max(0, control.balanceUs() / 1000);
        const usedMs = behaviour === 'busy' ? balanceMs : Math.min(balanceMs, 0.2);
        control.consume(Math.round(usedMs * 1000));
        counters[Counter.HostUsedUs]! += usedMs * 1000;
        if (behaviour === 'busy') counters[Counter.ThrottledUs]! += (periodMs - usedMs) * 1000;
        else counters[Counter.HaltedUs]! += (periodMs - usedMs) * 1000;
        control.publishCounters(counters);
        return usedMs;
      },
    };
  }

  it('converges to weighted shares with caps and idle VMs over simulated periods', () => {
    let clock = 0;
    const scheduler = new CpuScheduler({ periodMs: 50, budgetCores: 1, now: () => clock });
    const vms = [fakeVm('a', 1, 100, 'busy'), fakeVm('b', 2, 100, 'busy'), fakeVm('c', 1, 100, 'busy'), fakeVm('idle', 4, 100, 'idle'), fakeVm('capped', 8, 10, 'busy')];
    const used = new Map<string, number>();
    for (let period = 0; period < 100; period++) {
      scheduler.tick(vms.map((v) => v.target));
      clock += 50;
      for (const vm of vms) {
        const u = vm.runPeriod(50);
        if (period >= 20) used.set(vm.target.id, (used.get(vm.target.id) ?? 0) + u);
      }
    }
    const wall = 80 * 50;
    const pct = (id: string) => (100 * used.get(id)!) / wall;
    expect(pct('capped')).toBeCloseTo(10, 0);
    expect(pct('idle')).toBeLessThan(1);
    // The rest (~89.6% of the core) is shared 1:2:1.
    const rest = pct('a') + pct('b') + pct('c');
    expect(rest).toBeGreaterThan(87);
    expect(pct('b') / rest).toBeCloseTo(0.5, 2);
    expect(pct('a') / rest).toBeCloseTo(0.25, 2);
  });

  it('bounds the capacity of a late tick to two periods', () => {
    let clock = 0;
    const scheduler = new CpuScheduler({ periodMs: 50, budgetCores: 2, now: () => clock });
    const vm = fakeVm('a', 1, 100, 'busy');
    scheduler.tick([vm.target]);
    clock += 1000;
    const grants = scheduler.tick([vm.target]);
    expect(grants.get('a')).toBeCloseTo(100);
  });

  it('admits a new VM with a first grant', () => {
    const scheduler = new CpuScheduler({ periodMs: 50, budgetCores: 1 });
    const vm = fakeVm('a', 1, 20, 'busy');
    scheduler.admit(vm.target, 1);
    expect(vm.target.control.balanceUs()).toBe(10_000);
  });
});
