/**
 * Single-producer single-consumer byte ring in one buffer (shared between a
 * guest worker and the coordinator for the serial console).
 *
 * Layout: a 64-byte Int32 header, then `capacity` data bytes (a power of two,
 * so positions are `index & (capacity - 1)`).
 *
 * | word      | writer   | meaning                                              |
 * | --------- | -------- | ---------------------------------------------------- |
 * | Head      | producer | total bytes ever written (uint32, wraps)             |
 * | Tail      | consumer | total bytes ever read (uint32, wraps)                |
 * | DataSeq   | producer | bumped after each non-empty write: consumers wait on it |
 * | SpaceSeq  | consumer | bumped after each non-empty read: producers wait on it  |
 * | Capacity  | creator  | data bytes                                           |
 * | Magic     | creator  | sanity check on attach                               |
 *
 * Free-running indices make "full" and "empty" unambiguous (used = head - tail
 * mod 2^32, which works across the 2^32 wrap because capacity <= 2^30). The
 * producer copies data in and only then publishes Head with an Atomics store;
 * the consumer loads Head with Atomics before reading the data, so the data is
 * visible (and symmetrically for Tail and overwriting).
 *
 * A write also signals an optional extra wake word: the worker sleeps on its
 * control block's wake word for every reason at once (tokens, state requests,
 * console input), so the input ring pokes that word rather than its own.
 */
import { isShared, signal, type WakeWord } from './wake.ts';

/** 'TVRB' */
export const RING_MAGIC = 0x54565242;

export const RingWord = {
  Head: 0,
  Tail: 1,
  DataSeq: 2,
  SpaceSeq: 3,
  Capacity: 4,
  Magic: 5,
} as const;

export const RING_HEADER_BYTES = 64;
const HEADER_WORDS = RING_HEADER_BYTES / 4;
export const RING_MAX_CAPACITY = 1 << 30;

export class RingError extends Error {
  override name = 'RingError';
}

export interface RingOptions {
  /** Also signalled after every non-empty write (the consumer's general wake word). */
  consumerWake?: WakeWord;
}

export class SpscRing {
  readonly header: Int32Array;
  readonly capacity: number;
  readonly shared: boolean;
  private readonly data: Uint8Array;
  private readonly mask: number;
  private consumerWake: WakeWord | undefined;

  private constructor(readonly buffer: ArrayBuffer | SharedArrayBuffer, options: RingOptions) {
    this.header = new Int32Array(buffer, 0, HEADER_WORDS);
    this.capacity = Atomics.load(this.header, RingWord.Capacity);
    if (Atomics.load(this.header, RingWord.Magic) !== RING_MAGIC) throw new RingError('not a tabvisor ring (bad magic)');
    if (!isPowerOfTwo(this.capacity) || buffer.byteLength < RING_HEADER_BYTES + this.capacity) {
      throw new RingError(`ring header says capacity ${this.capacity}, buffer has ${buffer.byteLength} bytes`);
    }
    this.data = new Uint8Array(buffer, RING_HEADER_BYTES, this.capacity);
    this.mask = this.capacity - 1;
    this.shared = isShared(this.header);
    this.consumerWake = options.consumerWake;
  }

  /** The buffer for a new ring of `capacity` bytes (a power of two, 2..2^30). */
  static allocate(capacity: number, shared: boolean): ArrayBuffer | SharedArrayBuffer {
    if (!Number.isInteger(capacity) || !isPowerOfTwo(capacity) || capacity < 2 || capacity > RING_MAX_CAPACITY) {
      throw new RingError(`ring capacity must be a power of two in 2..2^30, got ${capacity}`);
    }
    const bytes = RING_HEADER_BYTES + capacity;
    const buffer = shared ? new SharedArrayBuffer(bytes) : new ArrayBuffer(bytes);
    const header = new Int32Array(buffer, 0, HEADER_WORDS);
    header[RingWord.Capacity] = capacity;
    header[RingWord.Magic] = RING_MAGIC;
    return buffer;
  }

  static create(capacity: number, shared: boolean, options: RingOptions = {}): SpscRing {
    return new SpscRing(SpscRing.allocate(capacity, shared), options);
  }

  /** Attaches to a ring buffer made by `allocate` (possibly on another thread). */
  static attach(buffer: ArrayBuffer | SharedArrayBuffer, options: RingOptions = {}): SpscRing {
    return new SpscRing(buffer, options);
  }

  /** Sets the extra word signalled on every write (see RingOptions). */
  setConsumerWake(wake: WakeWord | undefined): void {
    this.consumerWake = wake;
  }

  /** The word a consumer waits on for data. */
  get dataWord(): WakeWord {
    return { words: this.header, index: RingWord.DataSeq };
  }

  /** The word a producer waits on for space. */
  get spaceWord(): WakeWord {
    return { words: this.header, index: RingWord.SpaceSeq };
  }

  /** Bytes ready to read. */
  available(): number {
    return (Atomics.load(this.header, RingWord.Head) - Atomics.load(this.header, RingWord.Tail)) >>> 0;
  }

  /** Bytes that can be written without overwriting unread data. */
  free(): number {
    return this.capacity - this.available();
  }

  /** Producer: copies as much of `bytes` as fits; returns the count written. */
  write(bytes: Uint8Array): number {
    const head = Atomics.load(this.header, RingWord.Head) >>> 0;
    const tail = Atomics.load(this.header, RingWord.Tail) >>> 0;
    const count = Math.min(bytes.length, this.capacity - ((head - tail) >>> 0));
    if (count === 0) return 0;
    const start = head & this.mask;
    const first = Math.min(count, this.capacity - start);
    this.data.set(bytes.subarray(0, first), start);
    if (count > first) this.data.set(bytes.subarray(first, count), 0);
    Atomics.store(this.header, RingWord.Head, (head + count) | 0);
    signal(this.dataWord);
    if (this.consumerWake) signal(this.consumerWake);
    return count;
  }

  /** Consumer: copies up to `into.length` bytes without consuming them. */
  peek(into: Uint8Array): number {
    const head = Atomics.load(this.header, RingWord.Head) >>> 0;
    const tail = Atomics.load(this.header, RingWord.Tail) >>> 0;
    const count = Math.min(into.length, (head - tail) >>> 0);
    if (count === 0) return 0;
    const start = tail & this.mask;
    const first = Math.min(count, this.capacity - start);
    into.set(this.data.subarray(start, start + first), 0);
    if (count > first) into.set(this.data.subarray(0, count - first), first);
    return count;
  }

  /** Consumer: drops `count` bytes (at most what is available); returns the count dropped. */
  skip(count: number): number {
    const n = Math.min(Math.max(0, count), this.available());
    if (n === 0) return 0;
    Atomics.add(this.header, RingWord.Tail, n);
    signal(this.spaceWord);
    return n;
  }

  /** Consumer: copies and consumes up to `into.length` bytes; returns the count read. */
  read(into: Uint8Array): number {
    return this.skip(this.peek(into));
  }
}

function isPowerOfTwo(n: number): boolean {
  return n > 0 && (n & (n - 1)) === 0;
}
