/**
 * The interpreter's block tier: instructions decoded once into records
 * (block-decode.ts) and run from them (block-run.ts) while the code stays
 * hot. The interpreter looks a block up at every instruction boundary where
 * nothing is pending; a start address becomes a block on its BLOCK_HOT_VISITS-th
 * visit, so code that runs once (most of a boot) is never decoded twice.
 *
 * - Key: host offset of the first instruction (a physical page + offset, so
 *   the same code mapped at two addresses shares its blocks: the records
 *   hold host offsets, and everything that depends on EIP is computed from
 *   the code page's current mapping when it runs). Direct mapped by a hash of
 *   the offset; a collision replaces the older block.
 * - Invalidation: a frame holding blocks loses its write permissions in the
 *   TLB, so the first write to it takes the page walk, which calls
 *   `noteWrite`: the frame's generation moves on (every block of the frame
 *   becomes stale at once) and a running block stops after the current
 *   instruction. Frames written over and over (code and data sharing a
 *   page) stop getting blocks until the pool is next emptied (so that frames
 *   Linux reuses for other code over a long session get another chance). A
 *   TLB flush, a reset or a host write to guest memory forgets everything
 *   (frames may have changed owners).
 * - Bounded memory: a fixed pool of records; when it is full everything is
 *   forgotten (hot code comes back after BLOCK_HOT_VISITS visits).
 */
import { decodeBlock, MAX_BLOCK_INSNS } from './block-decode.ts';
import { BLOCK_FORMAT, BLOCK_HASH_BITS } from './block-run.ts';
import { revokeFrameWrites } from './tlb.ts';
import type { CpuCore } from './state.ts';
import { grownInt32, grownUint8 } from '../util/grow.ts';

const HASH_SIZE = 1 << BLOCK_HASH_BITS;
const { F_NEXT, REC, SLOT, S_KEY, S_GEN, S_COUNT, S_FIRST, S_END } = BLOCK_FORMAT;
/** Visits of a start address before it is decoded (by default). */
export const BLOCK_HOT_VISITS = 4;
/** Records in the pool (REC int32 each). */
const POOL_RECORDS = 1 << 16;
const EMPTY_I32 = new Int32Array(0);
const EMPTY_U8 = new Uint8Array(0);
/** Invalidations after which a frame gets no more blocks (until the pool is next emptied). */
const MAX_FRAME_INVALIDATIONS = 16;

/**
 * Instructions after a reset before the tier starts: a boot repeats too
 * little code to repay decoding it (a Node boot of the default image took
 * ~4% longer with blocks from the start: 16.4 M instructions, ~85,000
 * blocks of 4 instructions on average). The JIT waits out the boot the same way.
 */
export const BLOCK_WARMUP = 25_000_000;

export interface BlockTierOptions {
  /** Visits of a start address before it is decoded (default BLOCK_HOT_VISITS; 1: at once, as tests force it). */
  hotVisits?: number;
  /** Instructions after a reset before the tier starts (default BLOCK_WARMUP). */
  warmup?: number;
}

export interface BlockStats {
  built: number;
  flushes: number;
  invalidations: number;
}

export class BlockCache {
  /**
   * Per hash slot, SLOT int32 in one cache line: the block's host offset
   * (S_KEY, -1 when empty), its frame's generation when it was decoded
   * (S_GEN), its instruction count (S_COUNT, 0: nothing can be decoded
   * there), its first record (S_FIRST) and the host offset past its last
   * byte (S_END).
   */
  slots = EMPTY_I32;
  hot = EMPTY_U8;
  /** The records (REC int32 each). The three tables (~4.7 MB) exist from the tier's first run on (activate). */
  ops = EMPTY_I32;
  private used = 0;
  /** Slots written since the last flush (so a flush clears those, not all 65,536: tests flush per case); -1: too many. */
  private filled = EMPTY_I32;
  private filledCount = 0;
  /** Per frame of the host buffer: holds blocks (1), its generation, its invalidations. */
  private codeFrames = new Uint8Array(0);
  frameGen = new Int32Array(0);
  private frameWrites = new Uint8Array(0);
  /** Instructions a block completed before the instruction whose fault is being delivered. */
  faultDone = 0;
  readonly stats: BlockStats = { built: 0, flushes: 0, invalidations: 0 };

  /** The tier starts when the CPU has retired this many instructions (see BlockTierOptions.warmup). */
  startAt = 0;
  private readonly hotVisits: number;
  private readonly warmup: number;

  constructor(options: BlockTierOptions = {}) {
    this.hotVisits = options.hotVisits ?? BLOCK_HOT_VISITS;
    this.warmup = options.warmup ?? BLOCK_WARMUP;
  }

  /** Allocate the tables if this is the tier's first run (a CPU with the JIT never gets there). */
  activate(): this {
    if (this.ops.length === 0) {
      this.slots = new Int32Array(HASH_SIZE * SLOT);
      this.clearAllSlots();
      this.hot = new Uint8Array(HASH_SIZE);
      this.ops = new Int32Array(POOL_RECORDS * REC);
      this.filled = new Int32Array(HASH_SIZE);
    }
    return this;
  }

  /** The CPU was reset at `retired` instructions: boot code follows, which blocks would slow down. */
  restartWarmup(retired: number): void {
    this.startAt = retired + this.warmup;
  }

  /**
   * Instructions in the block at host offset `p` (hash slot `h`, in the
   * cached code page), 0 when there is none (yet): a start becomes a block
   * on its hotVisits-th visit, a stale one (its frame was written) is
   * decoded again.
   */
  lookup(c: CpuCore, p: number, h: number): number {
    const s = this.slots;
    const at = h * SLOT;
    if (s[at + S_KEY] === p) {
      if (s[at + S_GEN] === this.frameGen[p >>> 12] && s[at + S_END]! <= c.fpEnd) return s[at + S_COUNT]!;
      return this.build(c, p, h);
    }
    if (++this.hot[h]! < this.hotVisits) return 0;
    return this.build(c, p, h);
  }

  /**
   * Decode the block at host offset `p` (in the cached code page, which ends
   * at c.fpEnd) into slot `h`. Returns its instruction count (0: none).
   */
  private build(c: CpuCore, p: number, h: number): number {
    const frame = p >>> 12;
    this.ensureFrames(frame + 1);
    if (this.used + MAX_BLOCK_INSNS > POOL_RECORDS) this.flushRecords();
    const s = this.slots;
    const at = h * SLOT;
    if (this.filledCount >= 0) {
      if (this.filledCount < this.filled.length) this.filled[this.filledCount++] = h;
      else this.filledCount = -1;
    }
    s[at + S_KEY] = p;
    s[at + S_GEN] = this.frameGen[frame]!;
    s[at + S_COUNT] = 0;
    s[at + S_END] = p;
    this.hot[h] = 0;
    if (this.frameWrites[frame]! >= MAX_FRAME_INVALIDATIONS) return 0;
    const n = decodeBlock(c.mem8, p, c.fpEnd, this.ops, this.used);
    s[at + S_FIRST] = this.used * REC;
    s[at + S_COUNT] = n;
    // Past the last byte any record decoded (a call to the same page can lead backwards, then on).
    for (let k = 0; k < n; k++) s[at + S_END] = Math.max(s[at + S_END]!, this.ops[(this.used + k) * REC + F_NEXT]!);
    this.used += n;
    if (n > 0) {
      this.stats.built++;
      if (this.codeFrames[frame] === 0) {
        this.codeFrames[frame] = 1;
        revokeFrameWrites(c, frame);
      }
    }
    return n;
  }

  /**
   * A write to host frame `frame` is about to be permitted (page walk for
   * writing). Returns true when blocks were dropped: the caller then sets
   * c.events, so that a running block stops after the current instruction.
   */
  noteWrite(frame: number): boolean {
    if (frame >= this.codeFrames.length || this.codeFrames[frame] === 0) return false;
    this.codeFrames[frame] = 0;
    this.frameGen[frame]!++;
    if (this.frameWrites[frame]! < 255) this.frameWrites[frame]!++;
    this.stats.invalidations++;
    return true;
  }

  /** Forget every block (TLB flush, reset, host writes to guest memory). */
  flush(): void {
    this.flushRecords();
    this.codeFrames.fill(0);
    this.hot.fill(0);
    this.stats.flushes++;
  }

  private flushRecords(): void {
    if (this.filledCount >= 0) {
      for (let k = 0; k < this.filledCount; k++) this.slots[this.filled[k]! * SLOT + S_KEY] = -1;
    } else {
      this.clearAllSlots();
    }
    this.filledCount = 0;
    this.used = 0;
    this.frameWrites.fill(0);
  }

  private clearAllSlots(): void {
    for (let at = 0; at < this.slots.length; at += SLOT) this.slots[at + S_KEY] = -1;
  }

  private ensureFrames(n: number): void {
    if (n <= this.codeFrames.length) return;
    const size = Math.max(n, this.codeFrames.length * 2, 1024);
    this.codeFrames = grownUint8(this.codeFrames, size);
    this.frameGen = grownInt32(this.frameGen, size);
    this.frameWrites = grownUint8(this.frameWrites, size);
  }
}
