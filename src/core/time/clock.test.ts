import { describe, expect, it } from 'vitest';
import { InstructionClock, RealTimeClock } from './clock.ts';

describe('RealTimeClock', () => {
  it('follows the host clock and stops while paused', () => {
    let host = 1000;
    const clock = new RealTimeClock(() => host);
    expect(clock.nowNs()).toBe(0);
    host += 2.5;
    expect(clock.nowNs()).toBe(2_500_000);
    expect(clock.readTsc()).toBe(2_500_000); // 1 GHz TSC
    clock.pause();
    host += 100;
    expect(clock.nowNs()).toBe(2_500_000);
    clock.resume();
    host += 1;
    expect(clock.nowNs()).toBe(3_500_000);
  });

  it('never runs backwards and restores from a snapshot', () => {
    let host = 50;
    const clock = new RealTimeClock(() => host);
    host = 60;
    const t = clock.nowNs();
    host = 55; // a misbehaving host clock
    expect(clock.nowNs()).toBe(t);
    const saved = clock.saveState();
    const other = new RealTimeClock(() => 0);
    other.restoreState(saved);
    expect(other.nowNs()).toBe(saved.nowNs);
  });
});

describe('InstructionClock', () => {
  it('derives time from retired instructions and can skip idle time', () => {
    let retired = 0;
    const clock = new InstructionClock(() => retired, { nsPerInstruction: 2 });
    retired = 1000;
    expect(clock.nowNs()).toBe(2000);
    clock.skipTo(10_000);
    expect(clock.nowNs()).toBe(10_000);
    clock.skipTo(5); // never backwards
    expect(clock.nowNs()).toBe(10_000);
    retired = 1500;
    expect(clock.nowNs()).toBe(11_000);
    const copy = new InstructionClock(() => 0);
    copy.restoreState(clock.saveState());
    expect(copy.nowNs()).toBe(11_000);
  });
});
