import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { settledOrAfter } from './interface-gate.ts';

describe('settledOrAfter', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  /** Whether `gate` has resolved once pending callbacks and timers up to `ms` have run. */
  async function resolvedAfter(gate: Promise<void>, ms: number): Promise<boolean> {
    let resolved = false;
    void gate.then(() => {
      resolved = true;
    });
    await vi.advanceTimersByTimeAsync(ms);
    return resolved;
  }

  it('resolves as soon as the work is fulfilled, before the deadline', async () => {
    let finish!: () => void;
    const work = new Promise<void>((resolve) => {
      finish = resolve;
    });
    const gate = settledOrAfter(work, 300);
    expect(await resolvedAfter(gate, 100)).toBe(false);
    finish();
    expect(await resolvedAfter(gate, 0)).toBe(true);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('resolves, without rejecting, when the work fails', async () => {
    let fail!: (error: Error) => void;
    const work = new Promise<void>((_, reject) => {
      fail = reject;
    });
    const gate = settledOrAfter(work, 300);
    fail(new Error('the images could not be downloaded'));
    await expect(gate).resolves.toBeUndefined();
  });

  it('resolves at the deadline when the work is still pending', async () => {
    const gate = settledOrAfter(new Promise(() => {}), 300);
    expect(await resolvedAfter(gate, 299)).toBe(false);
    expect(await resolvedAfter(gate, 1)).toBe(true);
  });
});
