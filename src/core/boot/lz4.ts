/**
 * LZ4 "legacy frame" decompressor, the format `lz4 -l` writes and the Linux
 * build uses for an LZ4-compressed kernel payload:
 *   magic 0x184C2102 (little-endian), then blocks, each a 32-bit little-endian
 *   compressed size followed by that many bytes of one LZ4 block. Every block
 *   decompresses on its own (to at most 8 MiB). Another magic number where a
 *   block size is expected starts a concatenated frame. The kernel's build
 *   appends the uncompressed size as 4 more bytes; a trailing 4-byte word
 *   that cannot be a block header is treated as that.
 * An LZ4 block is a run of sequences: a token byte (high nibble literal
 * length, low nibble match length - 4; 15 means "more length bytes follow,
 * each added, until one is not 255"), the literals, then a 16-bit
 * little-endian match offset and the match. The last sequence has literals
 * only. Every read and copy is bounds-checked; corrupt input throws
 * `Lz4Error`, and the output never grows past `maxBytes`.
 */

import { wasmBlockDecoder } from './lz4-wasm.ts';

export const LZ4_LEGACY_MAGIC = 0x184c2102;
/** Largest uncompressed size of one legacy block. */
export const LZ4_LEGACY_BLOCK_MAX = 8 << 20;

export class Lz4Error extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'Lz4Error';
  }
}

export function isLz4Legacy(bytes: Uint8Array): boolean {
  return bytes.length >= 4 && bytes[0] === 0x02 && bytes[1] === 0x21 && bytes[2] === 0x4c && bytes[3] === 0x18;
}

/** A growable output buffer with a hard size limit. */
class Output {
  bytes: Uint8Array;
  length = 0;

  constructor(
    initial: number,
    private readonly limit: number,
  ) {
    this.bytes = new Uint8Array(Math.max(64, Math.min(initial, limit)));
  }

  /** Makes room for `n` more bytes. */
  reserve(n: number): void {
    const need = this.length + n;
    if (need > this.limit) throw new Lz4Error(`LZ4 data decompresses to more than ${this.limit} bytes`);
    if (need <= this.bytes.length) return;
    const grown = new Uint8Array(Math.min(this.limit, Math.max(need, this.bytes.length * 2)));
    grown.set(this.bytes.subarray(0, this.length));
    this.bytes = grown;
  }
}

/** Copies shorter than this are done byte by byte: a native copy call costs more than it saves. */
const SHORT_COPY = 32;

/**
 * Decompresses one LZ4 block `src[start, end)` onto the end of `out`; its
 * uncompressed size may not exceed `blockMax`. Matches may only refer to
 * this block's own output. The loop is allocation-free: the kernel payload
 * is ~10^5 sequences, most of them a few bytes long.
 */
function decompressBlock(src: Uint8Array, start: number, end: number, out: Output, blockMax: number): void {
  const blockStart = out.length;
  let pos = start;
  for (;;) {
    if (pos >= end) throw new Lz4Error('LZ4 block truncated: a sequence token is missing');
    const token = src[pos++]!;
    let literals = token >> 4;
    if (literals === 15) {
      // Extended length: bytes are added until one is not 255.
      let b = 255;
      while (b === 255) {
        if (pos >= end) throw new Lz4Error('LZ4 block truncated in a length field');
        b = src[pos++]!;
        literals += b;
      }
    }
    if (literals > end - pos) throw new Lz4Error('LZ4 block truncated: literals run past its end');
    if (out.length - blockStart + literals > blockMax) throw new Lz4Error(`LZ4 block decompresses to more than ${blockMax} bytes`);
    out.reserve(literals);
    let b = out.bytes;
    let to = out.length;
    if (literals < SHORT_COPY) {
      for (let i = 0; i < literals; i++) b[to + i] = src[pos + i]!;
    } else {
      b.set(src.subarray(pos, pos + literals), to);
    }
    out.length = to + literals;
    pos += literals;
    if (pos === end) return; // the last sequence has no match

    if (end - pos < 2) throw new Lz4Error('LZ4 block truncated in a match offset');
    const offset = src[pos]! | (src[pos + 1]! << 8);
    pos += 2;
    if (offset === 0) throw new Lz4Error('LZ4 block has a match offset of 0');
    if (offset > out.length - blockStart) throw new Lz4Error(`LZ4 match offset ${offset} points before the start of the block`);
    let matchLength = (token & 15) + 4;
    if ((token & 15) === 15) {
      let x = 255;
      while (x === 255) {
        if (pos >= end) throw new Lz4Error('LZ4 block truncated in a length field');
        x = src[pos++]!;
        matchLength += x;
      }
    }
    if (out.length - blockStart + matchLength > blockMax) throw new Lz4Error(`LZ4 block decompresses to more than ${blockMax} bytes`);
    out.reserve(matchLength);
    b = out.bytes;
    to = out.length;
    let from = to - offset;
    if (offset >= matchLength && matchLength >= SHORT_COPY) {
      b.copyWithin(to, from, from + matchLength);
    } else {
      // Short, or overlapping (a repeating pattern): forward byte copy.
      const stop = to + matchLength;
      while (to < stop) b[to++] = b[from++]!;
    }
    out.length += matchLength;
  }
}

export interface Lz4Options {
  /** Refuse output larger than this (default 256 MiB). */
  maxBytes?: number;
  /** Expected output size, to size the buffer once (a hint; not trusted). */
  sizeHint?: number;
}

/**
 * Decompresses a whole legacy-frame LZ4 stream (optionally followed by the
 * kernel's 4-byte size trailer). With a size hint, the blocks are decoded in
 * WebAssembly (lz4-wasm.ts); whatever that path refuses or cannot fit is
 * decoded again here in JavaScript, whose result or error is the answer.
 */
export function decompressLz4Legacy(src: Uint8Array, options: Lz4Options = {}): Uint8Array {
  const maxBytes = options.maxBytes ?? 256 << 20;
  if (!isLz4Legacy(src)) throw new Lz4Error('not an LZ4 legacy frame: no 0x184C2102 magic');
  return decompressInWasm(src, options.sizeHint, maxBytes) ?? decompressInJs(src, options.sizeHint, maxBytes);
}

function decompressInJs(src: Uint8Array, sizeHint: number | undefined, maxBytes: number): Uint8Array {
  const out = new Output(sizeHint ?? src.length * 3, maxBytes);
  walkFrame(src, (start, end) => decompressBlock(src, start, end, out, LZ4_LEGACY_BLOCK_MAX));
  return out.bytes.slice(0, out.length);
}

/**
 * The WebAssembly path: undefined when it is not available, refuses a block,
 * or needs more room than the hint. Exported for its tests.
 */
export function decompressInWasm(src: Uint8Array, sizeHint: number | undefined, maxBytes: number): Uint8Array | undefined {
  if (sizeHint === undefined || !(sizeHint > 0)) return undefined;
  const room = Math.min(sizeHint, maxBytes);
  const wasm = wasmBlockDecoder(src.length + room);
  if (!wasm) return undefined;
  const heap = new Uint8Array(wasm.memory.buffer);
  heap.set(src, 0); // input at 0, output right after it
  const cap = src.length + room;
  let out = src.length;
  try {
    walkFrame(src, (start, end) => {
      const next = wasm.block(start, end, out, cap, LZ4_LEGACY_BLOCK_MAX);
      if (next < 0) throw new Lz4Error('refused by the WebAssembly decoder');
      out = next;
    });
  } catch {
    return undefined;
  }
  return heap.slice(src.length, out);
}

/** Hands each block of a legacy frame, as [start, end) of `src`, to `block` in order; checks the frame itself. */
function walkFrame(src: Uint8Array, block: (start: number, end: number) => void): void {
  const view = new DataView(src.buffer, src.byteOffset, src.byteLength);
  let pos = 4;
  let blocks = 0;
  while (pos < src.length) {
    if (src.length - pos < 4) throw new Lz4Error(`LZ4 frame has ${src.length - pos} stray bytes at its end`);
    const size = view.getUint32(pos, true);
    if (size === LZ4_LEGACY_MAGIC) {
      pos += 4; // a concatenated frame
      continue;
    }
    if (size > src.length - pos - 4) {
      // Not a block that fits: the kernel's uncompressed-size trailer, if it is the last word.
      if (src.length - pos === 4 && blocks > 0) break;
      throw new Lz4Error(`LZ4 block of ${size} bytes at offset ${pos} runs past the end of the data`);
    }
    if (size === 0) throw new Lz4Error(`LZ4 block at offset ${pos} is empty`);
    block(pos + 4, pos + 4 + size);
    pos += 4 + size;
    blocks++;
  }
  if (blocks === 0) throw new Lz4Error('LZ4 frame holds no block');
}
