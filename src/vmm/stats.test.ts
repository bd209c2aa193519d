import { describe, expect, it } from 'vitest';
import { ControlBlock, Counter } from './shared/control-block.ts';
import { SeriesRing, VmStats } from './stats.ts';

describe('SeriesRing', () => {
  it('keeps the newest values in order once full', () => {
    const ring = new SeriesRing(3);
    expect(ring.last()).toBeNaN();
    for (let i = 1; i <= 5; i++) ring.push(i);
    expect([...ring.toArray()]).toEqual([3, 4, 5]);
    expect(ring.last()).toBe(5);
    expect(ring.length).toBe(3);
    expect(() => new SeriesRing(0)).toThrow(RangeError);
  });
});

describe('VmStats', () => {
  it('turns counter deltas into rates and percentages', () => {
    const stats = new VmStats(4);
    const c = ControlBlock.counterArray();
    expect(stats.sample(c, 1000)).toBeUndefined();
    c[Counter.HostUsedUs] = 125_000;
    c[Counter.Instructions] = 50_000_000;
    c[Counter.JitInstructions] = 40_000_000;
    c[Counter.ResidentFrames] = 512;
    c[Counter.ConsoleOutBytes] = 100;
    c[Counter.ThrottledUs] = 50_000;
    c[Counter.HaltedUs] = 25_000;
    const s = stats.sample(c, 1250)!;
    expect(s.hostCpuPercent).toBeCloseTo(50);
    expect(s.guestMips).toBeCloseTo(200);
    expect(s.jitMips).toBeCloseTo(160);
    expect(s.residentMiB).toBe(2);
    expect(s.consoleOutBytesPerSec).toBeCloseTo(400);
    expect(s.throttledPercent).toBeCloseTo(20);
    expect(s.haltedPercent).toBeCloseTo(10);
    expect(stats.latest()).toBe(s);
  });

  it('keeps a fixed history and restarts its baseline after a rebase', () => {
    const stats = new VmStats(2);
    const c = ControlBlock.counterArray();
    for (let t = 0; t <= 4; t++) {
      c[Counter.HostUsedUs] = t * 1000;
      stats.sample(c, t * 10);
    }
    const series = stats.series();
    expect([...series.time]).toEqual([30, 40]);
    expect([...series.hostCpuPercent]).toEqual([10, 10]);
    stats.rebase();
    c[Counter.HostUsedUs] = 0;
    expect(stats.sample(c, 50)).toBeUndefined();
    expect(stats.length).toBe(2);
  });
});
