/**
 * The WebAssembly LZ4 path against the JavaScript decoder: a success must be
 * byte for byte the JavaScript result, and whatever it refuses still decodes
 * (or fails with the JavaScript decoder's message) through decompressLz4Legacy.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseBzImage } from './bzimage.ts';
import { decompressInWasm, decompressLz4Legacy } from './lz4.ts';

const MAX = 256 << 20;

/** A deterministic generator (xorshift32). */
function rng(seed: number): (n: number) => number {
  let x = seed | 0 || 1;
  return (n) => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) % n;
  };
}

/** Pushes an LZ4 length extension for `extra` (bytes of 255, then the rest). */
function pushExtension(out: number[], extra: number): void {
  while (extra >= 255) {
    out.push(255);
    extra -= 255;
  }
  out.push(extra);
}

/** A random valid legacy frame of `blocks` blocks: literals, near and far matches, overlapping runs, long lengths. */
function randomFrame(random: (n: number) => number, blocks: number): { frame: Uint8Array; size: number } {
  const bytes: number[] = [0x02, 0x21, 0x4c, 0x18];
  let size = 0;
  for (let b = 0; b < blocks; b++) {
    const block: number[] = [];
    let produced = 0;
    const sequences = 1 + random(40);
    for (let s = 0; s < sequences; s++) {
      const last = s === sequences - 1;
      const literals = random(4) === 0 ? 15 + random(600) : random(15) + (produced === 0 ? 1 : 0);
      const matchLength = 4 + (random(4) === 0 ? 15 + random(700) : random(15));
      const token = (Math.min(literals, 15) << 4) | (last ? 0 : Math.min(matchLength - 4, 15));
      block.push(token);
      if (literals >= 15) pushExtension(block, literals - 15);
      for (let i = 0; i < literals; i++) block.push(random(4) === 0 ? 0x41 : random(256));
      produced += literals;
      if (last) break;
      const offset = 1 + random(Math.min(produced, 65535));
      block.push(offset & 0xff, offset >> 8);
      if (matchLength - 4 >= 15) pushExtension(block, matchLength - 4 - 15);
      produced += matchLength;
    }
    bytes.push(block.length & 0xff, (block.length >> 8) & 0xff, (block.length >> 16) & 0xff, 0, ...block);
    size += produced;
  }
  bytes.push(size & 0xff, (size >> 8) & 0xff, (size >> 16) & 0xff, size >>> 24);
  return { frame: new Uint8Array(bytes), size };
}

/** Byte equality of two outputs (toEqual walks large arrays element by element, slowly). */
function same(a: Uint8Array | undefined, b: Uint8Array | Error): boolean {
  return a !== undefined && b instanceof Uint8Array && Buffer.from(a.buffer, a.byteOffset, a.length).equals(Buffer.from(b.buffer, b.byteOffset, b.length));
}

function decodeInJs(frame: Uint8Array): Uint8Array | Error {
  try {
    return decompressLz4Legacy(frame); // no size hint: the JavaScript path alone
  } catch (e) {
    return e as Error;
  }
}

describe('LZ4 in WebAssembly', () => {
  it('unpacks the default kernel exactly as the JavaScript decoder does', () => {
    const { payload } = parseBzImage(new Uint8Array(readFileSync(new URL('../../../public/images/bzImage', import.meta.url))));
    const size = new DataView(payload.buffer, payload.byteOffset + payload.length - 4).getUint32(0, true);
    const wasm = decompressInWasm(payload, size, MAX);
    expect(wasm).toBeDefined();
    expect(wasm!.length).toBe(size);
    expect(same(wasm, decompressLz4Legacy(payload))).toBe(true);
  });

  it('decodes 300 random valid frames exactly as the JavaScript decoder does', () => {
    const random = rng(0x1234567);
    for (let n = 0; n < 300; n++) {
      const { frame, size } = randomFrame(random, 1 + random(3));
      const wasm = decompressInWasm(frame, size, MAX);
      expect(same(wasm, decodeInJs(frame)), `frame ${n}`).toBe(true);
    }
  });

  it('never succeeds where the JavaScript decoder fails or differs: 2,000 damaged frames', () => {
    const random = rng(0x7654321);
    let refused = 0;
    for (let n = 0; n < 2000; n++) {
      const { frame, size } = randomFrame(random, 1 + random(2));
      for (let k = 1 + random(3); k > 0; k--) frame[4 + random(frame.length - 4)] = random(256);
      const wasm = decompressInWasm(frame, size + random(64), MAX);
      const js = decodeInJs(frame);
      if (wasm === undefined) {
        refused++;
        continue;
      }
      expect(same(wasm, js), `frame ${n}`).toBe(true);
    }
    // Damage is mostly caught (the test would prove nothing if every frame were refused or none).
    expect(refused).toBeGreaterThan(100);
    expect(refused).toBeLessThan(2000);
  });

  it('hands output that does not fit the size hint, and the output limit, to the JavaScript decoder', () => {
    const { frame, size } = randomFrame(rng(99), 2);
    expect(decompressInWasm(frame, size - 1, MAX)).toBeUndefined();
    expect(same(decompressLz4Legacy(frame, { sizeHint: size - 1 }), decodeInJs(frame))).toBe(true);
    expect(() => decompressLz4Legacy(frame, { sizeHint: size, maxBytes: size - 1 })).toThrow(/more than/);
  });
});
