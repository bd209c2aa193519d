/**
 * The frame pool: every guest's RAM is made of 4 KiB host frames cut from one
 * `WebAssembly.Memory`. VMs never own a buffer of their own; a VM's p2m map
 * (see guest-memory.ts) names the frames it holds, which is what makes
 * overcommit, ballooning and per-VM budgets possible.
 *
 * - Shared pool (cross-origin isolated pages, Node): the coordinator calls
 *   `FramePool.createShared()`; the memory is a shared WebAssembly.Memory and
 *   the allocator state lives in a separate SharedArrayBuffer (`control`), so
 *   every guest worker can `FramePool.attachShared(handle)` and allocate and
 *   free frames from the same pool. All allocator state is manipulated with
 *   Atomics and without locks (a worker terminated in the middle of an
 *   allocation can never wedge the pool for the other VMs):
 *     - `allocated` is a CAS-reserved counter, checked against the limit
 *       before a frame is taken, so the pool never hands out more than its limit;
 *     - freed frames sit on a Treiber stack whose head packs (tag, frame) in
 *       one 64-bit word; the tag makes the CAS immune to ABA;
 *     - frames never handed out are taken with a CAS'd bump pointer;
 *     - `owner[frame]` names the attachment holding it (0 = free): double
 *       frees are caught, and the coordinator can take back every frame of a
 *       worker that died without releasing its memory (`reclaimOwner`).
 * - Private pool (no SharedArrayBuffer, single-VM tests): the same code over
 *   a plain ArrayBuffer and a non-shared memory.
 * - Growth: the memory grows on demand, in chunks, up to the reserved maximum
 *   (declared at creation, so a shared memory never moves). Growing a shared
 *   memory is visible to every thread, but each thread must re-read
 *   `memory.buffer` to see the longer buffer; a thread only touches frames it
 *   allocated (or frees), so it re-reads the buffer when such a frame lies
 *   beyond its current view. `generation` counts those re-reads per
 *   attachment: holders of `buffer` re-read it when the generation changes.
 *   (A non-shared buffer is detached on growth; the same rule covers it.)
 * - Frame 0 is never handed out, so a p2m entry of 0 can mean "no frame".
 * - Isolation: a frame is zeroed when it is freed, before it goes back on the
 *   free stack, so whoever gets it next (another VM, or the same one) never
 *   sees the previous owner's data. Frames never handed out are zero because
 *   WebAssembly memory grows zero-filled.
 */

export const FRAME_SIZE = 4096;
export const FRAME_SHIFT = 12;
const WASM_PAGE_SIZE = 65536;
const FRAMES_PER_WASM_PAGE = WASM_PAGE_SIZE / FRAME_SIZE;
/** wasm32 addresses at most 65,536 pages of 64 KiB = 4 GiB. */
const MAX_WASM_PAGES = 65536;
/** Grow by at least this many wasm pages (4 MiB) so growths (and buffer swaps) stay rare. */
const MIN_GROWTH_WASM_PAGES = 64;

// Control area layout (Int32 words; the first two form the 64-bit free-stack head).
const HEAD = 0; // BigInt64 index 0: (tag << 32) | top frame (0 = empty)
const HIGH_WATER = 2; // frames >= this were never handed out
const ALLOCATED = 3; // frames handed out (or reserved by an allocation in progress)
const LIMIT = 4; // current limit (<= RESERVED), frame 0 included
const RESERVED = 5; // frames the memory may ever hold (its maximum)
const NEXT_OWNER = 6; // next attachment tag to give out
const MAGIC = 7;
const HEADER_WORDS = 8;
const MAGIC_VALUE = 0x70_6f_6f_6c; // 'pool'
const LOW_MASK = 0xffff_ffffn;

export interface FramePoolOptions {
  /** Most frames the pool may ever back, including the reserved frame 0. */
  limitFrames: number;
  /** Frames backed up front (default: 16 = one wasm page). */
  initialFrames?: number;
  /** Ask for a shared memory; honoured only where SharedArrayBuffer exists. */
  shared?: boolean;
}

/** What a worker needs to attach to a shared pool (structured-cloneable). */
export interface SharedFramePoolHandle {
  memory: WebAssembly.Memory;
  control: SharedArrayBuffer;
  /** The attachment's owner tag (>= 2): frames it allocates are recorded under it. */
  owner: number;
}

export class FramePool {
  readonly memory: WebAssembly.Memory;
  /** True when `buffer` is a SharedArrayBuffer (and `control` one too). */
  readonly shared: boolean;
  /** Allocator state; a SharedArrayBuffer when shared (see the module comment). */
  readonly control: ArrayBufferLike;
  /** Owner tag of this attachment (1 for the creator). */
  readonly owner: number;
  /** Most frames the memory can ever hold (frame 0 included); `limitFrames` may be set up to this. */
  readonly reservedFrames: number;

  private readonly words: Int32Array;
  private readonly head: BigInt64Array;
  private readonly next: Int32Array;
  private readonly owners: Int32Array;
  private currentBuffer: ArrayBufferLike;
  private bytes: Uint8Array;
  /** The generation as a one-element counter others may keep and read (CpuHost.bufferGeneration). */
  readonly generationCell = new Int32Array(1);

  constructor(options: FramePoolOptions);
  constructor(options: FramePoolOptions | undefined, attach: SharedFramePoolHandle);
  constructor(options: FramePoolOptions | undefined, attach?: SharedFramePoolHandle) {
    if (attach) {
      this.memory = attach.memory;
      this.control = attach.control;
      this.owner = attach.owner;
      this.shared = true;
      const words = new Int32Array(attach.control, 0, HEADER_WORDS);
      if (words[MAGIC] !== MAGIC_VALUE) throw new Error('frame pool: the control area is not a frame pool');
      this.reservedFrames = words[RESERVED]!;
    } else {
      const o = options!;
      const limit = Math.floor(o.limitFrames);
      if (!(limit >= 2)) throw new Error(`frame pool: limit of ${o.limitFrames} frames is too small (need at least 2)`);
      const maxPages = Math.ceil(limit / FRAMES_PER_WASM_PAGE);
      if (maxPages > MAX_WASM_PAGES) throw new Error(`frame pool: limit of ${limit} frames exceeds the 4 GiB a WebAssembly memory can address`);
      const initialFrames = Math.min(limit, Math.max(1, Math.floor(o.initialFrames ?? FRAMES_PER_WASM_PAGE)));
      const initialPages = Math.ceil(initialFrames / FRAMES_PER_WASM_PAGE);
      let memory: WebAssembly.Memory | undefined;
      let shared = false;
      if (o.shared && typeof SharedArrayBuffer !== 'undefined') {
        try {
          memory = new WebAssembly.Memory({ initial: initialPages, maximum: maxPages, shared: true });
          shared = true;
        } catch {
          // Not cross-origin isolated (or shared memories disabled): fall back to a private pool.
          memory = undefined;
        }
      }
      memory ??= new WebAssembly.Memory({ initial: initialPages, maximum: maxPages });
      this.memory = memory;
      this.shared = shared;
      this.owner = 1;
      this.reservedFrames = limit;
      const bytes = (HEADER_WORDS + 2 * limit) * 4;
      this.control = shared ? new SharedArrayBuffer(bytes) : new ArrayBuffer(bytes);
      const words = new Int32Array(this.control, 0, HEADER_WORDS);
      words[HIGH_WATER] = 1;
      words[LIMIT] = limit;
      words[RESERVED] = limit;
      words[NEXT_OWNER] = 2;
      words[MAGIC] = MAGIC_VALUE;
    }
    const reserved = this.reservedFrames;
    this.words = new Int32Array(this.control, 0, HEADER_WORDS);
    this.head = new BigInt64Array(this.control, 0, 1);
    this.next = new Int32Array(this.control, HEADER_WORDS * 4, reserved);
    this.owners = new Int32Array(this.control, (HEADER_WORDS + reserved) * 4, reserved);
    this.currentBuffer = this.memory.buffer;
    this.bytes = new Uint8Array(this.currentBuffer);
  }

  /**
   * A pool whose frames every worker can use (the coordinator's side). Throws
   * when shared memory is unavailable (not cross-origin isolated): callers
   * then fall back to private per-VM pools.
   */
  static createShared(options: Omit<FramePoolOptions, 'shared'>): FramePool {
    const pool = new FramePool({ ...options, shared: true });
    if (!pool.shared) throw new Error('frame pool: shared memory is not available here (the page is not cross-origin isolated)');
    return pool;
  }

  /** Attaches a worker to a pool created with `createShared` (see `share`). */
  static attachShared(handle: SharedFramePoolHandle): FramePool {
    if (!(handle.control instanceof SharedArrayBuffer)) throw new Error('frame pool: attachShared needs a SharedArrayBuffer control area');
    return new FramePool(undefined, handle);
  }

  /** A handle for one more attachment, with a fresh owner tag (its frames can later be reclaimed with `reclaimOwner`). */
  share(): SharedFramePoolHandle {
    if (!this.shared || !(this.control instanceof SharedArrayBuffer)) throw new Error('frame pool: a private pool cannot be shared');
    return { memory: this.memory, control: this.control, owner: Atomics.add(this.words, NEXT_OWNER, 1) };
  }

  /** The memory's buffer as this attachment last read it; replaced when the pool grows (see `generation`). */
  get buffer(): ArrayBufferLike {
    return this.currentBuffer;
  }

  /** Incremented every time this attachment's `buffer` is replaced. */
  get generation(): number {
    return this.generationCell[0]!;
  }

  /** Most frames the pool may hold now (frame 0 included). */
  get limitFrames(): number {
    return Atomics.load(this.words, LIMIT);
  }

  /**
   * Changes the pool limit (clamped to [2, reservedFrames]). Lowering it
   * below what is allocated takes nothing back; it only stops allocations.
   */
  setLimitFrames(frames: number): void {
    Atomics.store(this.words, LIMIT, Math.max(2, Math.min(this.reservedFrames, Math.floor(frames))));
  }

  /** Frames handed out and not yet freed, by every attachment together. */
  get allocatedFrames(): number {
    return Atomics.load(this.words, ALLOCATED);
  }

  /** Frames that could still be allocated before the limit (frame 0 excluded). */
  get availableFrames(): number {
    return Math.max(0, this.limitFrames - 1 - this.allocatedFrames);
  }

  /** Frames currently backed by the memory (grows on demand up to the reserved maximum). */
  get capacityFrames(): number {
    return Math.min(this.reservedFrames, this.memory.buffer.byteLength / FRAME_SIZE);
  }

  /** Host bytes backing the pool right now. */
  get hostBytes(): number {
    return this.memory.buffer.byteLength;
  }

  /** Frames recorded under an owner tag (O(frames ever used); for stats and tests). */
  framesOwnedBy(owner: number): number {
    const hw = Atomics.load(this.words, HIGH_WATER);
    let n = 0;
    for (let f = 1; f < hw; f++) if (Atomics.load(this.owners, f) === owner) n++;
    return n;
  }

  /**
   * Hands out a zero-filled frame and returns its index (byte offset = index *
   * FRAME_SIZE), or -1 when the pool limit is reached. Never throws.
   */
  allocate(): number {
    // Reserve a slot under the limit first: then a frame is guaranteed to exist.
    for (;;) {
      const a = Atomics.load(this.words, ALLOCATED);
      if (a >= this.limitFrames - 1) return -1;
      if (Atomics.compareExchange(this.words, ALLOCATED, a, a + 1) === a) break;
    }
    let frame = -1;
    while (frame < 0) {
      frame = this.pop();
      if (frame < 0) frame = this.bump();
      // Neither: another thread is between reserving and pushing back; try again.
    }
    if (!this.ensureBacked(frame)) {
      this.push(frame);
      Atomics.sub(this.words, ALLOCATED, 1);
      return -1;
    }
    Atomics.store(this.owners, frame, this.owner);
    return frame;
  }

  /**
   * Hands out `count` zero-filled frames at consecutive indexes (taken above
   * the high-water mark, never from the free list) and returns the first
   * index, or -1 when the limit or the reserved space does not allow it.
   * For structures that generated code indexes directly (the JIT's TLB
   * arrays span several frames). Never throws.
   */
  allocateRun(count: number): number {
    if (count < 1) return -1;
    for (;;) {
      const a = Atomics.load(this.words, ALLOCATED);
      if (a + count > this.limitFrames - 1) return -1;
      if (Atomics.compareExchange(this.words, ALLOCATED, a, a + count) === a) break;
    }
    let first = -1;
    for (;;) {
      const hw = Atomics.load(this.words, HIGH_WATER);
      if (hw + count > this.reservedFrames) break;
      if (Atomics.compareExchange(this.words, HIGH_WATER, hw, hw + count) === hw) {
        first = hw;
        break;
      }
    }
    if (first < 0 || !this.ensureBacked(first + count - 1)) {
      // Frames above the old high-water mark that cannot be used go to the free list like freed ones.
      if (first >= 0) for (let k = 0; k < count; k++) this.push(first + k);
      Atomics.sub(this.words, ALLOCATED, count);
      return -1;
    }
    for (let k = 0; k < count; k++) Atomics.store(this.owners, first + k, this.owner);
    return first;
  }

  /** Returns a frame to the pool (any attachment may free any frame); its contents are zeroed now (isolation). */
  free(frame: number): void {
    if ((frame | 0) !== frame || frame < 1 || frame >= Atomics.load(this.words, HIGH_WATER) || Atomics.exchange(this.owners, frame, 0) === 0) {
      throw new Error(`frame pool: cannot free frame ${frame}: it is not allocated`);
    }
    if ((frame + 1) * FRAME_SIZE > this.bytes.length) this.refresh();
    this.bytes.fill(0, frame * FRAME_SIZE, (frame + 1) * FRAME_SIZE);
    this.push(frame);
    Atomics.sub(this.words, ALLOCATED, 1);
  }

  /**
   * Frees every frame recorded under `owner` (a worker that died without
   * releasing its VM's memory). Only call once that attachment can no longer
   * run. Returns how many frames came back.
   */
  reclaimOwner(owner: number): number {
    if (owner === 0) return 0;
    const hw = Atomics.load(this.words, HIGH_WATER);
    let n = 0;
    for (let f = 1; f < hw; f++) {
      if (Atomics.load(this.owners, f) === owner) {
        this.free(f);
        n++;
      }
    }
    return n;
  }

  /** Byte view of the whole pool as this attachment sees it (re-created after growth). For loaders, DMA and tests. */
  get view(): Uint8Array {
    return this.bytes;
  }

  private pop(): number {
    for (;;) {
      const h = Atomics.load(this.head, HEAD);
      const top = Number(h & LOW_MASK);
      if (top === 0) return -1;
      const below = BigInt(Atomics.load(this.next, top));
      const replacement = BigInt.asIntN(64, (((h >> 32n) + 1n) << 32n) | below);
      if (Atomics.compareExchange(this.head, HEAD, h, replacement) === h) return top;
    }
  }

  private push(frame: number): void {
    for (;;) {
      const h = Atomics.load(this.head, HEAD);
      Atomics.store(this.next, frame, Number(h & LOW_MASK));
      const replacement = BigInt.asIntN(64, (((h >> 32n) + 1n) << 32n) | BigInt(frame));
      if (Atomics.compareExchange(this.head, HEAD, h, replacement) === h) return;
    }
  }

  private bump(): number {
    for (;;) {
      const hw = Atomics.load(this.words, HIGH_WATER);
      if (hw >= this.reservedFrames) return -1;
      if (Atomics.compareExchange(this.words, HIGH_WATER, hw, hw + 1) === hw) return hw;
    }
  }

  /** Makes sure `frame` is inside this attachment's view, growing the memory if nobody has yet. */
  private ensureBacked(frame: number): boolean {
    const need = (frame + 1) * FRAME_SIZE;
    if (need <= this.bytes.length) return true;
    const maxPages = Math.ceil(this.reservedFrames / FRAMES_PER_WASM_PAGE);
    const needPages = Math.ceil(need / WASM_PAGE_SIZE);
    for (;;) {
      const currentPages = this.memory.buffer.byteLength / WASM_PAGE_SIZE;
      if (currentPages >= needPages) break;
      // Geometric growth (half the current size, at least 4 MiB) keeps the number of buffer swaps logarithmic.
      const delta = Math.min(maxPages - currentPages, Math.max(MIN_GROWTH_WASM_PAGES, Math.ceil(currentPages / 2), needPages - currentPages));
      try {
        this.memory.grow(delta);
      } catch {
        // Another thread grew it meanwhile (the maximum is then closer), or the host refused.
        if (this.memory.buffer.byteLength / WASM_PAGE_SIZE >= needPages) break;
        if (this.memory.buffer.byteLength / WASM_PAGE_SIZE === currentPages) return false;
      }
    }
    this.refresh();
    return true;
  }

  private refresh(): void {
    const buffer = this.memory.buffer;
    if (buffer === this.currentBuffer && buffer.byteLength === this.bytes.length) return;
    this.currentBuffer = buffer;
    this.bytes = new Uint8Array(buffer);
    this.generationCell[0]++;
  }
}
