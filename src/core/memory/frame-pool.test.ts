import { describe, expect, it } from 'vitest';
import { FRAME_SIZE, FramePool } from './frame-pool.ts';

describe('FramePool', () => {
  it('never hands out frame 0 and counts allocations', () => {
    const pool = new FramePool({ limitFrames: 64 });
    const a = pool.allocate();
    const b = pool.allocate();
    expect(a).toBeGreaterThan(0);
    expect(b).toBeGreaterThan(0);
    expect(a).not.toBe(b);
    expect(pool.allocatedFrames).toBe(2);
    expect(pool.availableFrames).toBe(64 - 1 - 2);
  });

  it('returns -1 when the limit is reached, and frames again after free', () => {
    const pool = new FramePool({ limitFrames: 5 });
    const got = [pool.allocate(), pool.allocate(), pool.allocate(), pool.allocate()];
    expect(got.every((f) => f > 0)).toBe(true);
    expect(pool.allocate()).toBe(-1);
    pool.free(got[1]!);
    expect(pool.allocate()).toBe(got[1]);
  });

  it('zeroes a freed frame before anyone gets it again (isolation)', () => {
    const pool = new FramePool({ limitFrames: 8 });
    const f = pool.allocate();
    pool.view.fill(0xab, f * FRAME_SIZE, (f + 1) * FRAME_SIZE);
    pool.free(f);
    const again = pool.allocate();
    expect(again).toBe(f);
    expect(pool.view.subarray(again * FRAME_SIZE, (again + 1) * FRAME_SIZE).every((b) => b === 0)).toBe(true);
  });

  it('refuses double frees and frees of frames never allocated', () => {
    const pool = new FramePool({ limitFrames: 8 });
    const f = pool.allocate();
    pool.free(f);
    expect(() => pool.free(f)).toThrow(/not allocated/);
    expect(() => pool.free(0)).toThrow(/not allocated/);
    expect(() => pool.free(7)).toThrow(/not allocated/);
  });

  it('grows on demand, bumping the generation and keeping contents', () => {
    const pool = new FramePool({ limitFrames: 4096, initialFrames: 16 });
    const first = pool.allocate();
    pool.view[first * FRAME_SIZE] = 42;
    const gen = pool.generation;
    const before = pool.capacityFrames;
    const frames: number[] = [];
    for (let i = 0; i < 100; i++) frames.push(pool.allocate());
    expect(frames.every((f) => f > 0)).toBe(true);
    expect(pool.capacityFrames).toBeGreaterThan(before);
    expect(pool.generation).toBeGreaterThan(gen);
    expect(pool.view[first * FRAME_SIZE]).toBe(42);
    expect(pool.buffer.byteLength).toBeGreaterThanOrEqual(101 * FRAME_SIZE);
  });

  it('is shared when asked and SharedArrayBuffer exists, private otherwise', () => {
    const shared = new FramePool({ limitFrames: 32, shared: true });
    expect(shared.shared).toBe(typeof SharedArrayBuffer !== 'undefined');
    if (shared.shared) expect(shared.buffer).toBeInstanceOf(SharedArrayBuffer);
    const priv = new FramePool({ limitFrames: 32 });
    expect(priv.shared).toBe(false);
    expect(priv.buffer).toBeInstanceOf(ArrayBuffer);
  });
});
