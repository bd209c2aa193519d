/**
 * Measured CPU shares with real worker threads.
 *
 * The machine running the tests has 2 cores shared with other work, so the
 * guests together get a budget well below it (1 core): the shares are then
 * set by the scheduler, not by the OS. Host time is what the workers report
 * (wall time inside their slices, the quantity the tokens pay for).
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { Coordinator } from './coordinator.ts';
import { Counter } from './shared/control-block.ts';
import { measureHostMs, sleep, synthetic, testCoordinator } from './test-support/harness.ts';

const coordinators: Coordinator[] = [];
afterEach(async () => {
  await Promise.all(coordinators.splice(0).map((c) => c.dispose()));
});

function oneCore(): Coordinator {
  const c = testCoordinator({ cpuBudgetCores: 1, periodMs: 50 });
  coordinators.push(c);
  return c;
}

const pct = (x: number) => `${(100 * x).toFixed(1)}%`;

describe('CPU scheduler, measured', () => {
  it('gives three busy VMs with weights 1:2:1 host time 25/50/25 (within 10%)', async () => {
    const c = oneCore();
    const weights = [1, 2, 1];
    const vms = weights.map((cpuWeight, i) => c.createVm(synthetic({ behaviour: 'busy' }, { name: `w${cpuWeight}-${i}`, cpuWeight })));
    await Promise.all(vms.map((vm) => c.start(vm.id)));
    await sleep(500);
    const ids = vms.map((vm) => vm.id);
    const { usedMs, wallMs } = await measureHostMs(c, ids, 3000);
    const total = ids.reduce((sum, id) => sum + usedMs.get(id)!, 0);
    const shares = ids.map((id) => usedMs.get(id)! / total);
    console.log(`weights 1:2:1 -> shares ${shares.map(pct).join(' / ')}; together ${pct(total / wallMs)} of one core over ${wallMs.toFixed(0)} ms`);
    const expected = [0.25, 0.5, 0.25];
    shares.forEach((share, i) => {
      expect(Math.abs(share - expected[i]!)).toBeLessThanOrEqual(0.1 * expected[i]!);
    });
    // The budget (one core) bounds them together.
    expect(total / wallMs).toBeLessThan(1.08);
  });

  it('holds a 20% cap within 5 points while another VM could use the rest', async () => {
    const c = oneCore();
    const capped = c.createVm(synthetic({ behaviour: 'busy' }, { name: 'capped', cpuCapPercent: 20, cpuWeight: 10 }));
    const other = c.createVm(synthetic({ behaviour: 'busy' }, { name: 'other' }));
    await Promise.all([capped, other].map((vm) => c.start(vm.id)));
    await sleep(500);
    const { usedMs, wallMs } = await measureHostMs(c, [capped.id, other.id], 2500);
    const cappedPct = (100 * usedMs.get(capped.id)!) / wallMs;
    const otherPct = (100 * usedMs.get(other.id)!) / wallMs;
    console.log(`cap 20%: capped VM used ${cappedPct.toFixed(1)}% of a core, the uncapped one ${otherPct.toFixed(1)}%`);
    expect(Math.abs(cappedPct - 20)).toBeLessThanOrEqual(5);
    // Work-conserving: the rest of the budget went to the other VM despite its lower weight.
    expect(otherPct).toBeGreaterThan(60);
  });

  it('lets an idle (halted) guest use less than 2% of a core', async () => {
    const c = oneCore();
    // A periodic-tick kernel (HZ=100) wakes every 10 ms; a tickless one far less often.
    const tick100 = c.createVm(synthetic({ behaviour: 'idle', sleepMs: 10 }, { name: 'hz100', cpuWeight: 4 }));
    const tickless = c.createVm(synthetic({ behaviour: 'idle', sleepMs: 50 }, { name: 'tickless', cpuWeight: 4 }));
    const ids = [tick100.id, tickless.id];
    await Promise.all(ids.map((id) => c.start(id)));
    // Idle cost is a steady state: a fresh worker still compiles and tiers up its code in its first
    // wake-ups (at 20 per second that takes a while), and over a 2 s window one such burst in a loaded
    // full test run was once enough to read 2.005% (typically 0.4-1%). Settle 1 s, measure 4 s.
    await sleep(1000);
    const before = await Promise.all(ids.map((id) => c.workerStats(id)));
    const { usedMs, wallMs } = await measureHostMs(c, ids, 4000);
    const after = await Promise.all(ids.map((id) => c.workerStats(id)));
    const report = ids.map((id, i) => {
      const b = before[i]!;
      const a = after[i]!;
      const active = a.eventLoop!.activeMs - b.eventLoop!.activeMs;
      const idle = a.eventLoop!.idleMs - b.eventLoop!.idleMs;
      const eluPct = (100 * active) / (active + idle);
      return {
        slicePct: (100 * usedMs.get(id)!) / wallMs,
        // The worker thread's real CPU time where Linux tells it; else event-loop utilization (an upper bound).
        threadPct: a.threadCpuMs !== undefined && b.threadCpuMs !== undefined ? (100 * (a.threadCpuMs - b.threadCpuMs)) / wallMs : eluPct,
        eluPct,
        haltedPct: (100 * (a.counters[Counter.HaltedUs]! - b.counters[Counter.HaltedUs]!)) / (a.counters[Counter.UptimeUs]! - b.counters[Counter.UptimeUs]!),
      };
    });
    ['100 wake-ups/s', '20 wake-ups/s'].forEach((label, i) => {
      const r = report[i]!;
      console.log(
        `idle guest, ${label}: ${r.slicePct.toFixed(2)}% of a core in slices, worker thread CPU ${r.threadPct.toFixed(2)}% ` +
          `(event loop busy ${r.eluPct.toFixed(2)}%), halted ${r.haltedPct.toFixed(0)}% of the time`,
      );
    });
    for (const r of report) {
      expect(r.slicePct).toBeLessThan(2);
      expect(r.haltedPct).toBeGreaterThan(80);
    }
    // Each wake-up of a thread costs ~0.1-0.2 ms of CPU on this (virtualized) host
    // whatever the wait primitive, so the thread bound is asserted at 20 wake-ups/s;
    // at 100/s it must merely show that the worker sleeps rather than spins.
    expect(report[1]!.threadPct).toBeLessThan(2);
    expect(report[0]!.threadPct).toBeLessThan(10);
  });
});
