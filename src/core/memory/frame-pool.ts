/**
 * The frame pool: every guest's RAM is made of 4 KiB host frames cut from one
 * `WebAssembly.Memory`. VMs never own a buffer of their own; a VM's p2m map
 * (see guest-memory.ts) names the frames it holds, which is what makes
 * overcommit, ballooning and per-VM budgets possible.
 *
 * - The memory is shared (its buffer a SharedArrayBuffer) when the platform has
 *   SharedArrayBuffer and the caller asks for it, so workers and the
 *   coordinator can see the same frames; otherwise it is a private buffer.
 * - It grows on demand, in chunks, up to the pool limit. Growing replaces
 *   `buffer` (a non-shared buffer is detached, a shared one gets a longer
 *   successor), so `generation` counts growths: holders of the buffer re-read
 *   it when the generation changes.
 * - Frame 0 is never handed out, so a p2m entry of 0 can mean "no frame".
 * - Isolation: a frame is zeroed when it is freed, so whoever gets it next
 *   (another VM, or the same one) never sees the previous owner's data.
 *   Frames the pool has never handed out are zero because WebAssembly memory
 *   grows zero-filled.
 */

export const FRAME_SIZE = 4096;
export const FRAME_SHIFT = 12;
const WASM_PAGE_SIZE = 65536;
const FRAMES_PER_WASM_PAGE = WASM_PAGE_SIZE / FRAME_SIZE;
/** wasm32 addresses at most 65,536 pages of 64 KiB = 4 GiB. */
const MAX_WASM_PAGES = 65536;
/** Grow by at least this many wasm pages (4 MiB) so growths (and buffer swaps) stay rare. */
const MIN_GROWTH_WASM_PAGES = 64;

export interface FramePoolOptions {
  /** Most frames the pool may ever back, including the reserved frame 0. */
  limitFrames: number;
  /** Frames backed up front (default: 16 = one wasm page). */
  initialFrames?: number;
  /** Ask for a shared memory; honoured only where SharedArrayBuffer exists. */
  shared?: boolean;
}

export class FramePool {
  readonly memory: WebAssembly.Memory;
  /** True when `buffer` is a SharedArrayBuffer. */
  readonly shared: boolean;
  /** Most frames this pool can hold (frame 0 included). */
  readonly limitFrames: number;

  private currentBuffer: ArrayBufferLike;
  private bytes: Uint8Array;
  private generationCount = 0;
  /** Frames currently backed by the memory. */
  private capacity: number;
  /** Frames at or above this index have never been handed out (and are zero). */
  private highWater = 1;
  /** Stack of freed (already zeroed) frames. */
  private freeList: Int32Array;
  private freeCount = 0;
  private allocated = 0;
  /** 1 for frames currently handed out: catches double frees, which would hand one frame to two owners. */
  private readonly inUse: Uint8Array;

  constructor(options: FramePoolOptions) {
    const limit = Math.floor(options.limitFrames);
    if (!(limit >= 2)) throw new Error(`frame pool: limit of ${options.limitFrames} frames is too small (need at least 2)`);
    const maxPages = Math.ceil(limit / FRAMES_PER_WASM_PAGE);
    if (maxPages > MAX_WASM_PAGES) throw new Error(`frame pool: limit of ${limit} frames exceeds the 4 GiB a WebAssembly memory can address`);
    this.limitFrames = limit;
    const initialFrames = Math.min(limit, Math.max(1, Math.floor(options.initialFrames ?? FRAMES_PER_WASM_PAGE)));
    const initialPages = Math.ceil(initialFrames / FRAMES_PER_WASM_PAGE);

    let memory: WebAssembly.Memory | undefined;
    let shared = false;
    if (options.shared && typeof SharedArrayBuffer !== 'undefined') {
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
    this.currentBuffer = memory.buffer;
    this.bytes = new Uint8Array(this.currentBuffer);
    this.capacity = Math.min(limit, initialPages * FRAMES_PER_WASM_PAGE);
    this.freeList = new Int32Array(64);
    this.inUse = new Uint8Array(limit);
  }

  /** The memory's current buffer; replaced when the pool grows (see `generation`). */
  get buffer(): ArrayBufferLike {
    return this.currentBuffer;
  }

  /** Incremented every time `buffer` is replaced. */
  get generation(): number {
    return this.generationCount;
  }

  /** Frames handed out and not yet freed. */
  get allocatedFrames(): number {
    return this.allocated;
  }

  /** Frames that could still be allocated before the limit (frame 0 excluded). */
  get availableFrames(): number {
    return this.limitFrames - 1 - this.allocated;
  }

  /** Frames currently backed by host memory (grows on demand up to the limit). */
  get capacityFrames(): number {
    return this.capacity;
  }

  /** Host bytes backing the pool right now. */
  get hostBytes(): number {
    return this.currentBuffer.byteLength;
  }

  /**
   * Hands out a zero-filled frame and returns its index (byte offset = index *
   * FRAME_SIZE), or -1 when the pool limit is reached. Never throws.
   */
  allocate(): number {
    let frame: number;
    if (this.freeCount > 0) {
      frame = this.freeList[--this.freeCount]!;
    } else {
      if (this.highWater >= this.capacity && !this.grow()) return -1;
      frame = this.highWater++;
    }
    this.inUse[frame] = 1;
    this.allocated++;
    return frame;
  }

  /** Returns a frame to the pool; its contents are zeroed now (isolation). */
  free(frame: number): void {
    if ((frame | 0) !== frame || frame < 1 || frame >= this.highWater || this.inUse[frame] !== 1) {
      throw new Error(`frame pool: cannot free frame ${frame}: it is not allocated`);
    }
    this.inUse[frame] = 0;
    this.bytes.fill(0, frame * FRAME_SIZE, (frame + 1) * FRAME_SIZE);
    if (this.freeCount === this.freeList.length) {
      const bigger = new Int32Array(this.freeList.length * 2);
      bigger.set(this.freeList);
      this.freeList = bigger;
    }
    this.freeList[this.freeCount++] = frame;
    this.allocated--;
  }

  /** Byte view of the whole pool (re-created after growth). For loaders, DMA and tests. */
  get view(): Uint8Array {
    return this.bytes;
  }

  private grow(): boolean {
    if (this.capacity >= this.limitFrames) return false;
    const currentPages = this.currentBuffer.byteLength / WASM_PAGE_SIZE;
    const maxPages = Math.ceil(this.limitFrames / FRAMES_PER_WASM_PAGE);
    // Geometric growth (half the current size, at least 4 MiB) keeps the number of buffer swaps logarithmic.
    const wanted = Math.max(MIN_GROWTH_WASM_PAGES, Math.ceil(currentPages / 2));
    const delta = Math.min(wanted, maxPages - currentPages);
    if (delta <= 0) return false;
    try {
      this.memory.grow(delta);
    } catch {
      // The host refused (out of address space): behave as if the pool were full.
      return false;
    }
    this.currentBuffer = this.memory.buffer;
    this.bytes = new Uint8Array(this.currentBuffer);
    this.capacity = Math.min(this.limitFrames, (currentPages + delta) * FRAMES_PER_WASM_PAGE);
    this.generationCount++;
    return true;
  }
}
