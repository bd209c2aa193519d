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

  it('allocateRun hands out consecutive frames above the free list, and nothing past the limit', () => {
    const pool = new FramePool({ limitFrames: 16 });
    const single = pool.allocate();
    pool.free(single); // on the free list now: a run must not start there
    const first = pool.allocateRun(5);
    expect(first).toBeGreaterThan(single);
    expect(pool.allocatedFrames).toBe(5);
    for (let k = 0; k < 5; k++) expect(() => pool.free(first + k)).not.toThrow(); // each one is owned
    expect(pool.allocatedFrames).toBe(0);
    expect(pool.allocateRun(16)).toBe(-1); // frame 0 is never handed out
    expect(pool.allocatedFrames).toBe(0);
    // Frames 1..6 are free but below the high-water mark; 7..15 are left above it.
    expect(pool.allocateRun(10)).toBe(-1);
    expect(pool.allocatedFrames).toBe(0);
    expect(pool.allocateRun(9)).toBe(7);
    expect(pool.allocatedFrames).toBe(9);
    expect(pool.allocate()).toBeGreaterThan(0); // the pool still works after refusals
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

interface ChurnResult {
  errors: number;
  allocations: number;
  refusals: number;
  held: number[];
  owner: number;
}

describe('FramePool shared between threads', () => {
  async function churn(pool: FramePool, rounds: number, hold: number) {
    const { Worker } = await import('node:worker_threads');
    const start = new Int32Array(new SharedArrayBuffer(4));
    const script = new URL('./test-support/pool-worker.ts', import.meta.url).href;
    const boot = `import('tsx/esm/api').then(({ register }) => { register(); return import(${JSON.stringify(script)}); });`;
    const run = (id: number) =>
      new Promise<ChurnResult>((resolve, reject) => {
        const handle = pool.share();
        const worker = new Worker(boot, { eval: true, workerData: { handle, id, rounds, hold, start } });
        worker.once('message', (m) => {
          resolve({ ...(m as Omit<ChurnResult, 'owner'>), owner: handle.owner });
          void worker.terminate();
        });
        worker.once('error', reject);
      });
    return Promise.all([run(1), run(2)]);
  }

  it('two workers allocating and freeing concurrently never get the same frame; counts stay consistent', { timeout: 60_000 }, async () => {
    const pool = FramePool.createShared({ limitFrames: 4096, initialFrames: 16 });
    const results = await churn(pool, 20_000, 1500);
    for (const r of results) expect(r.errors).toBe(0);
    const all = results.flatMap((r) => r.held);
    expect(new Set(all).size).toBe(all.length);
    expect(pool.allocatedFrames).toBe(all.length);
    for (const r of results) expect(pool.framesOwnedBy(r.owner)).toBe(r.held.length);
    // Both grew the same memory: the coordinator's view sees it too.
    expect(pool.capacityFrames).toBeGreaterThan(16);
    // A dead worker's frames come back, zeroed.
    for (const r of results) expect(pool.reclaimOwner(r.owner)).toBe(r.held.length);
    expect(pool.allocatedFrames).toBe(0);
    const f = pool.allocate();
    expect(pool.view.subarray(f * FRAME_SIZE, (f + 1) * FRAME_SIZE).every((b) => b === 0)).toBe(true);
  });

  it('the limit holds across threads: the pool never hands out more than its limit', { timeout: 60_000 }, async () => {
    const pool = FramePool.createShared({ limitFrames: 401 });
    pool.setLimitFrames(301);
    const results = await churn(pool, 5000, 1000);
    for (const r of results) expect(r.errors).toBe(0);
    const all = results.flatMap((r) => r.held);
    expect(new Set(all).size).toBe(all.length);
    expect(pool.allocatedFrames).toBe(all.length);
    expect(results.reduce((s, r) => s + r.refusals, 0)).toBeGreaterThan(0);
    let more = 0;
    while (pool.allocate() > 0) more++;
    expect(all.length + more).toBe(300);
    expect(pool.allocate()).toBe(-1);
    pool.setLimitFrames(302);
    expect(pool.allocate()).toBeGreaterThan(0);
  });

  it('attachShared refuses a private pool', () => {
    const priv = new FramePool({ limitFrames: 32 });
    expect(() => priv.share()).toThrow(/private/);
  });
});
