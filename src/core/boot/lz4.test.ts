import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseBzImage } from './bzimage.ts';
import { decompressLz4Legacy, isLz4Legacy, Lz4Error } from './lz4.ts';
import { lz4LiteralFrame } from './test-support/images.ts';

/** A legacy frame from hand-written blocks (no trailer unless given). */
function frame(blocks: number[][], trailer?: number): Uint8Array {
  const parts: number[] = [0x02, 0x21, 0x4c, 0x18];
  for (const b of blocks) parts.push(b.length & 0xff, (b.length >> 8) & 0xff, 0, 0, ...b);
  if (trailer !== undefined) parts.push(trailer & 0xff, (trailer >> 8) & 0xff, (trailer >> 16) & 0xff, trailer >>> 24);
  return new Uint8Array(parts);
}
const ascii = (s: string) => [...s].map((c) => c.charCodeAt(0));
const text = (b: Uint8Array) => new TextDecoder().decode(b);

describe('decompressLz4Legacy', () => {
  it('decodes literals only', () => {
    expect(text(decompressLz4Legacy(frame([[0x50, ...ascii('hello')]])))).toBe('hello');
  });

  it('decodes an overlapping match (a repeated pattern)', () => {
    // "ab", then offset 2 length 6 -> "ababab", then the last literals "!".
    expect(text(decompressLz4Legacy(frame([[0x22, ...ascii('ab'), 2, 0, 0x10, ...ascii('!')]])))).toBe('abababab!');
  });

  it('decodes extended literal and match lengths', () => {
    const lits = Array.from({ length: 20 }, (_, i) => 0x41 + i);
    // token F/F: literals 15 + 5 = 20; match offset 20, length 4 + 15 + 255 + 1 = 275; then an empty last sequence.
    const out = decompressLz4Legacy(frame([[0xff, 5, ...lits, 20, 0, 255, 1, 0x00]]));
    expect(out.length).toBe(20 + 275);
    for (let i = 0; i < out.length; i++) expect(out[i]).toBe(0x41 + (i % 20));
  });

  it('joins blocks, skips a repeated magic, and accepts the size trailer', () => {
    const f = frame([[0x30, ...ascii('abc')], [0x30, ...ascii('def')]], 6);
    expect(text(decompressLz4Legacy(f))).toBe('abcdef');
    const concatenated = new Uint8Array([...frame([[0x20, ...ascii('xy')]]), ...frame([[0x10, ...ascii('z')]])]);
    expect(text(decompressLz4Legacy(concatenated))).toBe('xyz');
    const big = new Uint8Array(1000).map((_, i) => i & 0xff);
    expect(decompressLz4Legacy(lz4LiteralFrame(big))).toEqual(big);
  });

  it('rejects corrupt input with an Lz4Error', () => {
    const bad = (blocks: number[][]) => () => decompressLz4Legacy(frame(blocks));
    expect(() => decompressLz4Legacy(new Uint8Array([1, 2, 3, 4, 5]))).toThrow(/no 0x184C2102 magic/);
    expect(bad([[0x14, ...ascii('a'), 0, 0, 0x00]])).toThrow(/offset of 0/);
    expect(bad([[0x14, ...ascii('a'), 2, 0, 0x00]])).toThrow(/before the start of the block/);
    expect(bad([[0x50, ...ascii('abc')]])).toThrow(/literals run past/);
    expect(bad([[0x14, ...ascii('a'), 1]])).toThrow(/truncated in a match offset/);
    expect(bad([[0xf0, 255]])).toThrow(/truncated in a length field/);
    // Blocks are independent: the second may not refer to the first.
    expect(bad([[0x10, ...ascii('a')], [0x04, 1, 0, 0x00]])).toThrow(/before the start of the block/);
    // A block size that runs past the end (and is not a final 4-byte trailer).
    expect(() => decompressLz4Legacy(new Uint8Array([0x02, 0x21, 0x4c, 0x18, 50, 0, 0, 0, 0x10, 0x41]))).toThrow(/runs past the end/);
    expect(() => decompressLz4Legacy(new Uint8Array([0x02, 0x21, 0x4c, 0x18]))).toThrow(/no block/);
    expect(() => decompressLz4Legacy(new Uint8Array([...frame([[0x10, 0x41]]), 1, 2]))).toThrow(/stray bytes/);
    expect(bad([[0x10, 0x41]])).not.toThrow();
    expect(bad([[0x14, 0x41, 0, 0, 0]])).toThrow(Lz4Error);
  });

  it('enforces the output size limit', () => {
    // 1 literal then a 4 + 15 + 255*40 byte run: ~10 KiB from a few dozen bytes.
    const block = [0x1f, 0x41, 1, 0, ...new Array<number>(40).fill(255), 0, 0x00];
    expect(decompressLz4Legacy(frame([block])).length).toBe(1 + 19 + 255 * 40);
    expect(() => decompressLz4Legacy(frame([block]), { maxBytes: 5000 })).toThrow(/more than 5000 bytes/);
  });

  it('unpacks the default kernel to the ELF vmlinux of the size its trailer states', () => {
    const image = parseBzImage(new Uint8Array(readFileSync(new URL('../../../public/images/bzImage', import.meta.url))));
    expect(isLz4Legacy(image.payload)).toBe(true);
    const out = decompressLz4Legacy(image.payload);
    const trailer = new DataView(image.payload.buffer, image.payload.byteOffset + image.payload.length - 4).getUint32(0, true);
    expect(out.length).toBe(trailer);
    expect([...out.subarray(0, 4)]).toEqual([0x7f, 0x45, 0x4c, 0x46]);
  });
});
