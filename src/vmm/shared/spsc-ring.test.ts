import { describe, expect, it } from 'vitest';
import { spawnNodeWorker } from '../host/node-host.ts';
import { RING_HEADER_BYTES, RingError, RingWord, SpscRing } from './spsc-ring.ts';
import { signal, waitAsyncOn, type WakeWord } from './wake.ts';

function pattern(start: number, length: number): Uint8Array {
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) out[i] = ((start + i) * 131 + ((start + i) >>> 8)) & 0xff;
  return out;
}

describe('SpscRing', () => {
  it('refuses capacities that are not powers of two', () => {
    expect(() => SpscRing.create(100, true)).toThrow(RingError);
    expect(() => SpscRing.create(0, true)).toThrow(RingError);
    expect(() => SpscRing.attach(new SharedArrayBuffer(RING_HEADER_BYTES + 8))).toThrow(/bad magic/);
  });

  it('writes what fits, reads what is there', () => {
    const ring = SpscRing.create(8, false);
    expect(ring.write(Uint8Array.of(1, 2, 3))).toBe(3);
    expect(ring.available()).toBe(3);
    expect(ring.write(pattern(0, 10))).toBe(5);
    expect(ring.free()).toBe(0);
    expect(ring.write(Uint8Array.of(9))).toBe(0);
    const out = new Uint8Array(16);
    expect(ring.read(out)).toBe(8);
    expect([...out.subarray(0, 8)]).toEqual([1, 2, 3, ...pattern(0, 5)]);
    expect(ring.read(out)).toBe(0);
  });

  it('wraps around the end of the buffer at every offset', () => {
    const ring = SpscRing.create(16, true);
    let written = 0;
    let read = 0;
    const out = new Uint8Array(16);
    for (let round = 0; round < 200; round++) {
      const chunk = pattern(written, 1 + (round % 15));
      const n = ring.write(chunk);
      written += n;
      const m = ring.read(out.subarray(0, 1 + ((round * 7) % 13)));
      expect([...out.subarray(0, m)]).toEqual([...pattern(read, m)]);
      read += m;
    }
    expect(ring.available()).toBe(written - read);
  });

  it('keeps working when the free-running indices wrap past 2^32', () => {
    const ring = SpscRing.create(32, true);
    Atomics.store(ring.header, RingWord.Head, -10);
    Atomics.store(ring.header, RingWord.Tail, -10);
    const out = new Uint8Array(32);
    let pos = 0;
    for (let i = 0; i < 10; i++) {
      expect(ring.write(pattern(pos, 7))).toBe(7);
      expect(ring.available()).toBe(7);
      expect(ring.read(out)).toBe(7);
      expect([...out.subarray(0, 7)]).toEqual([...pattern(pos, 7)]);
      pos += 7;
    }
    expect(Atomics.load(ring.header, RingWord.Head)).toBe(60);
  });

  it('peek and skip let a consumer take only what it can use', () => {
    const ring = SpscRing.create(8, true);
    ring.write(Uint8Array.of(1, 2, 3, 4));
    const out = new Uint8Array(4);
    expect(ring.peek(out)).toBe(4);
    expect(ring.skip(1)).toBe(1);
    expect(ring.peek(out)).toBe(3);
    expect([...out.subarray(0, 3)]).toEqual([2, 3, 4]);
    expect(ring.skip(10)).toBe(3);
  });

  it("signals the data word and the consumer's extra wake word on writes", () => {
    const wake: WakeWord = { words: new Int32Array(new SharedArrayBuffer(8)), index: 1 };
    const ring = SpscRing.create(8, true, { consumerWake: wake });
    const before = Atomics.load(ring.header, RingWord.DataSeq);
    ring.write(Uint8Array.of(1));
    ring.write(new Uint8Array(0));
    expect(Atomics.load(ring.header, RingWord.DataSeq)).toBe(before + 1);
    expect(Atomics.load(wake.words, 1)).toBe(1);
  });

  it('streams 1 MB through two threads byte for byte', async () => {
    const total = 1 << 20;
    const toWorker = SpscRing.create(4096, true);
    const fromWorker = SpscRing.create(2048, true);
    const worker = spawnNodeWorker(new URL('./test-support/ring-echo.worker.ts', import.meta.url), 'ring-echo', {
      input: toWorker.buffer,
      output: fromWorker.buffer,
      total,
    });
    const done = new Promise<{ moved: number; blockedReads: number }>((resolve, reject) => {
      worker.thread.once('message', resolve);
      worker.onFailure((detail) => reject(new Error(detail)));
    });
    try {
      let sent = 0;
      let received = 0;
      const scratch = new Uint8Array(1500);
      while (received < total) {
        if (sent < total) {
          sent += toWorker.write(pattern(sent, Math.min(total - sent, 333 + (sent % 1024))));
        }
        const seen = Atomics.load(fromWorker.dataWord.words, fromWorker.dataWord.index);
        const n = fromWorker.read(scratch);
        for (let i = 0; i < n; i++) {
          const expected = pattern(received + i, 1)[0];
          if (scratch[i] !== expected) throw new Error(`byte ${received + i}: got ${scratch[i]}, expected ${expected}`);
        }
        received += n;
        if (n === 0 && toWorker.free() === 0) {
          const pending = waitAsyncOn(fromWorker.dataWord, seen, 50);
          if (pending) await pending;
        } else if (n === 0) {
          await new Promise((r) => setImmediate(r));
        }
      }
      const result = await done;
      expect(result.moved).toBe(total);
      expect(received).toBe(total);
      expect(fromWorker.available()).toBe(0);
    } finally {
      await worker.terminate();
    }
  });

  it('wakes a waitAsync consumer through signal()', async () => {
    const ring = SpscRing.create(8, true);
    const seen = Atomics.load(ring.header, RingWord.DataSeq);
    const pending = waitAsyncOn(ring.dataWord, seen, 5000);
    expect(pending).not.toBe(false);
    const t0 = performance.now();
    setTimeout(() => signal(ring.dataWord), 10);
    await pending;
    expect(performance.now() - t0).toBeLessThan(2000);
  });
});
