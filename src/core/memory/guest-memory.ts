/**
 * One VM's guest-physical address space: a p2m map from guest page to host
 * frame (frames come from a shared FramePool), MMIO regions, and open bus
 * everywhere else. Implements the memory half of the CpuHost contract
 * (cpu/host.ts) and gives loaders and DMA byte-range access through the same
 * map, so a VM reaches only the frames its own map names (isolation).
 *
 * Address space layout as seen from here:
 *   [0, ramBytes)   RAM. A page has no frame until its first write; until
 *                   then it reads as zeros (physRead) and costs nothing.
 *   MMIO regions    registered with addMmio(); may also sit inside RAM, in
 *                   which case those pages stop being RAM.
 *   anything else   open bus: reads all ones, writes are dropped.
 *
 * Out of memory: when the pool is exhausted or the VM's frame budget is used
 * up, a first write cannot get a frame. Throwing would unwind through the CPU
 * in the middle of an instruction, so instead `frameForWrite` calls
 * `onOutOfMemory` (once per episode; the machine answers by requesting a CPU
 * stop and the coordinator pauses the VM) and returns this VM's private
 * "discard" frame: the instruction completes harmlessly, its data lands in a
 * scratch frame no other VM can see, and the page stays unmapped. After the
 * coordinator frees memory or raises the budget it calls `clearOutOfMemory()`
 * and must make the CPU forget cached translations (see `mappingGeneration`)
 * before resuming, so later writes to that page allocate a real frame.
 *
 * Lazy restore: `attachBacking()` hands over the pages of a decoded snapshot
 * without copying them. A backed page has no frame; its p2m entry is
 * `-2 - i` (i = its index in the backing data), so the hot paths are
 * untouched: they return as soon as they see a frame (> 0), and only the
 * slow path that already handled "no frame yet" looks at the backing. The
 * first `frameForRead` or `frameForWrite` of a backed page allocates a frame
 * and copies the snapshot's bytes into it ("materialise on first touch", for
 * reads too: the CPU caches frames, not -1 pages, so reading through would
 * send every later fetch and load of e.g. kernel text down the byte-wise
 * slow path). Materialising for a read does not set the dirty bit (the page
 * still equals the snapshot). `physRead`, `readBytes` and `readPage` read
 * through without allocating. If no frame can be had, reads keep reading
 * through (correct, only slower) and writes take the out-of-memory path
 * above; the page keeps its backing. `materializeAll()` copies everything in
 * (migration, debugging) and drops the backing data.
 */
import type { AccessSize } from '../cpu/host.ts';
import { FRAME_SHIFT, FRAME_SIZE, type FramePool } from './frame-pool.ts';

export const PAGE_SIZE = FRAME_SIZE;
export const PAGE_SHIFT = FRAME_SHIFT;
const PAGE_MASK = PAGE_SIZE - 1;
/** p2m value of a RAM-range page that is covered by an MMIO region. */
const P2M_MMIO = -1;
/** p2m values below this are lazily backed pages: -2 - (index in the backing data). */
const P2M_BACKED = -2;
const ADDRESS_SPACE = 2 ** 32;

/** A device's MMIO window. Offsets are relative to the region base. */
export interface MmioHandler {
  read(offset: number, size: AccessSize): number;
  write(offset: number, size: AccessSize, value: number): void;
}

export type OutOfMemoryReason = 'pool' | 'budget';

export interface GuestMemoryOptions {
  /** Guest RAM size in bytes (rounded up to whole pages; at most 4 GiB). */
  ramBytes: number;
  /** Most frames this VM may hold (default: one per RAM page, i.e. no limit beyond the pool). */
  budgetFrames?: number;
  /** Called when a first write cannot get a frame (see the module comment). */
  onOutOfMemory?: (reason: OutOfMemoryReason) => void;
  /**
   * Storage for the p2m map (at least one entry per RAM page, all zero), e.g.
   * over a SharedArrayBuffer so the coordinator can read which frames the VM
   * holds. Default: a private array. Zeroed again by `release()`.
   */
  p2m?: Int32Array;
}

interface MmioRegion {
  readonly base: number;
  readonly end: number;
  readonly handler: MmioHandler;
}

export class GuestMemory {
  readonly ramBytes: number;
  /** Called on the first failed allocation of an out-of-memory episode. */
  onOutOfMemory: ((reason: OutOfMemoryReason) => void) | undefined;

  private readonly pool: FramePool;
  /** RAM pages (0 after release). */
  private pages: number;
  /** Guest page -> host frame index; 0 = no frame yet, -1 = MMIO. */
  private p2m: Int32Array;
  /** One bit per RAM page, set when a write mapping is handed out. */
  private readonly dirty: Uint32Array;
  private resident = 0;
  private budget: number;
  private discardFrame: number;
  private readonly systemFrames: number[] = [];
  private oom = false;
  private mappingGen = 0;
  private released = false;
  private readonly mmio: MmioRegion[] = [];
  /** Snapshot pages (PAGE_SIZE each) that backed pages are copied from; dropped when none is left. */
  private backing: Uint8Array | undefined;
  private backed = 0;

  constructor(pool: FramePool, options: GuestMemoryOptions) {
    const ram = Math.ceil(options.ramBytes / PAGE_SIZE) * PAGE_SIZE;
    if (!(ram > 0) || ram > ADDRESS_SPACE) throw new Error(`guest memory: RAM size ${options.ramBytes} must be between 1 byte and 4 GiB`);
    this.pool = pool;
    this.ramBytes = ram;
    this.pages = ram / PAGE_SIZE;
    if (options.p2m && (options.p2m.length < this.pages || options.p2m.some((v) => v !== 0))) {
      throw new Error(`guest memory: the p2m storage must hold ${this.pages} zero entries`);
    }
    this.p2m = options.p2m ? options.p2m.subarray(0, this.pages) : new Int32Array(this.pages);
    this.dirty = new Uint32Array(Math.ceil(this.pages / 32));
    this.budget = Math.floor(options.budgetFrames ?? this.pages);
    this.onOutOfMemory = options.onOutOfMemory;
    // Taken up front so that running out of memory later can never fail to find it.
    const scratch = pool.allocate();
    if (scratch < 0) throw new Error('guest memory: the frame pool is exhausted (no frame left even for a new VM\'s scratch page)');
    this.discardFrame = scratch;
  }

  /** The live p2m map (page -> frame; 0 none, -1 MMIO, <= -2 lazily restored). Read-only for callers. */
  get map(): Int32Array {
    return this.p2m;
  }

  /** Number of RAM pages (0 after release). */
  get pageCount(): number {
    return this.pages;
  }

  // ---- CpuHost memory half -------------------------------------------------

  get buffer(): ArrayBufferLike {
    return this.pool.buffer;
  }

  /** The pool attachment's buffer generation cell (CpuHost.bufferGeneration). */
  get bufferGeneration(): Int32Array {
    return this.pool.generationCell;
  }

  frameForRead(page: number): number {
    if (page < this.pages) {
      const frame = this.p2m[page]!;
      if (frame > 0) return frame * PAGE_SIZE;
      if (frame <= P2M_BACKED) return this.materialize(page, false);
    }
    return -1;
  }

  frameForWrite(page: number): number {
    if (page < this.pages) {
      const frame = this.p2m[page]!;
      if (frame > 0) {
        this.dirty[page >>> 5]! |= 1 << (page & 31);
        return frame * PAGE_SIZE;
      }
      if (frame === 0) return this.populate(page);
      if (frame <= P2M_BACKED) return this.materialize(page, true);
    }
    return -1;
  }

  physRead(address: number, size: AccessSize): number {
    address >>>= 0;
    if ((address & PAGE_MASK) + size > PAGE_SIZE) return this.readSplit(address, size);
    const page = address >>> PAGE_SHIFT;
    if (page < this.pages) {
      const frame = this.p2m[page]!;
      if (frame > 0) return this.readFrame(frame * PAGE_SIZE + (address & PAGE_MASK), size);
      if (frame === 0) return 0;
      if (frame <= P2M_BACKED) return this.readBacked(P2M_BACKED - frame, address & PAGE_MASK, size);
    }
    const region = this.findMmio(address);
    if (region !== undefined) return region.handler.read(address - region.base, size);
    return openBus(size);
  }

  physWrite(address: number, size: AccessSize, value: number): void {
    address >>>= 0;
    if ((address & PAGE_MASK) + size > PAGE_SIZE) {
      for (let i = 0; i < size; i++) this.physWrite((address + i) >>> 0, 1, (value >>> (8 * i)) & 0xff);
      return;
    }
    const page = address >>> PAGE_SHIFT;
    if (page < this.pages && this.p2m[page] !== P2M_MMIO) {
      const offset = this.frameForWrite(page);
      if (offset >= 0) this.writeFrame(offset + (address & PAGE_MASK), size, value);
      return;
    }
    const region = this.findMmio(address);
    if (region !== undefined) region.handler.write(address - region.base, size, value);
    // Otherwise open bus: the write goes nowhere.
  }

  // ---- MMIO ----------------------------------------------------------------

  /** Claims [base, base+size) for a device. Regions must not overlap. */
  addMmio(base: number, size: number, handler: MmioHandler): void {
    if (!Number.isInteger(base) || !Number.isInteger(size) || size <= 0 || base < 0 || base + size > ADDRESS_SPACE) {
      throw new Error(`guest memory: bad MMIO region ${hex(base)}+${hex(size)}`);
    }
    const end = base + size;
    for (const r of this.mmio) {
      if (base < r.end && r.base < end) throw new Error(`guest memory: MMIO region ${hex(base)}-${hex(end - 1)} overlaps ${hex(r.base)}-${hex(r.end - 1)}`);
    }
    this.mmio.push({ base, end, handler });
    // Pages of RAM under the region become MMIO pages (any frame they had goes back to the pool).
    const last = Math.min(this.pages, Math.ceil(end / PAGE_SIZE));
    for (let page = Math.floor(base / PAGE_SIZE); page < last; page++) {
      const frame = this.p2m[page]!;
      if (frame > 0) {
        this.pool.free(frame);
        this.resident--;
        this.mappingGen++;
      } else if (frame <= P2M_BACKED) {
        this.dropBacking();
      }
      this.p2m[page] = P2M_MMIO;
    }
  }

  // ---- loaders and DMA -----------------------------------------------------

  /** Copies guest-physical bytes out: zeros for untouched RAM, 0xFF for MMIO and open bus (no device side effects). Lazily backed pages are read through. */
  readBytes(address: number, dest: Uint8Array): void {
    let done = 0;
    while (done < dest.length) {
      const addr = address + done;
      const inPage = Math.min(PAGE_SIZE - (addr & PAGE_MASK), dest.length - done);
      const page = Math.floor(addr / PAGE_SIZE);
      const frame = page < this.pages ? this.p2m[page]! : P2M_MMIO;
      if (frame > 0) {
        const start = frame * PAGE_SIZE + (addr & PAGE_MASK);
        dest.set(this.pool.view.subarray(start, start + inPage), done);
      } else if (frame <= P2M_BACKED) {
        const start = (P2M_BACKED - frame) * PAGE_SIZE + (addr & PAGE_MASK);
        dest.set(this.backing!.subarray(start, start + inPage), done);
      } else {
        dest.fill(frame === 0 ? 0 : 0xff, done, done + inPage);
      }
      done += inPage;
    }
  }

  /** Copies bytes into guest RAM, allocating frames as a CPU write would. Bytes aimed at MMIO or open bus are dropped. */
  writeBytes(address: number, src: Uint8Array): void {
    let done = 0;
    while (done < src.length) {
      const addr = address + done;
      const inPage = Math.min(PAGE_SIZE - (addr & PAGE_MASK), src.length - done);
      const page = Math.floor(addr / PAGE_SIZE);
      const offset = page < this.pages ? this.frameForWrite(page) : -1;
      // Re-read the view after frameForWrite: an allocation may have grown the pool.
      if (offset >= 0) this.pool.view.set(src.subarray(done, done + inPage), offset + (addr & PAGE_MASK));
      done += inPage;
    }
  }

  /** Zeroes a range of guest RAM without allocating: untouched pages already read as zero. */
  zeroBytes(address: number, length: number): void {
    let done = 0;
    while (done < length) {
      const addr = address + done;
      const inPage = Math.min(PAGE_SIZE - (addr & PAGE_MASK), length - done);
      const page = Math.floor(addr / PAGE_SIZE);
      if (page < this.pages) {
        const frame = this.p2m[page]!;
        if (frame <= P2M_BACKED) {
          // A whole page becomes "untouched"; a part of one needs the snapshot's other bytes.
          if (inPage === PAGE_SIZE) {
            this.dropBacking();
            this.p2m[page] = 0;
          } else {
            const offset = this.frameForWrite(page);
            if (offset >= 0) this.pool.view.fill(0, offset + (addr & PAGE_MASK), offset + (addr & PAGE_MASK) + inPage);
          }
        } else if (frame > 0) {
          const start = frame * PAGE_SIZE + (addr & PAGE_MASK);
          this.pool.view.fill(0, start, start + inPage);
          this.dirty[page >>> 5]! |= 1 << (page & 31);
        }
      }
      done += inPage;
    }
  }

  /** True when [address, address+length) lies entirely in RAM (not MMIO, not beyond RAM). */
  isRam(address: number, length: number): boolean {
    if (address < 0 || length < 0 || address + length > this.ramBytes) return false;
    const last = Math.ceil((address + length) / PAGE_SIZE);
    for (let page = Math.floor(address / PAGE_SIZE); page < last; page++) {
      if (this.p2m[page] === P2M_MMIO) return false;
    }
    return true;
  }

  // ---- accounting, dirty tracking, snapshots -------------------------------

  /** Frames this VM holds (the scratch frame not counted). */
  get residentFrames(): number {
    return this.resident;
  }

  get budgetFrames(): number {
    return this.budget;
  }

  /** Changes the VM's frame budget. Lowering it below `residentFrames` takes nothing back (that is the balloon's job); it only stops growth. */
  set budgetFrames(frames: number) {
    this.budget = Math.max(0, Math.floor(frames));
  }

  /** True from a failed allocation until `clearOutOfMemory()`. */
  get outOfMemory(): boolean {
    return this.oom;
  }

  /**
   * Ends an out-of-memory episode (after the coordinator made room). Bumps
   * `mappingGeneration`: the CPU may still hold write translations to the
   * scratch frame and must flush them before it runs again.
   */
  clearOutOfMemory(): void {
    this.oom = false;
    this.pool.view.fill(0, this.discardFrame * PAGE_SIZE, (this.discardFrame + 1) * PAGE_SIZE);
    this.mappingGen++;
  }

  /**
   * Incremented whenever a guest page loses or changes its frame (discardPage,
   * MMIO over RAM, restore, end of an out-of-memory episode, release). When it
   * changes, translations cached by the CPU may be stale and must be flushed.
   * (Allocation on first write never changes it: it only adds mappings.)
   */
  get mappingGeneration(): number {
    return this.mappingGen;
  }

  isDirty(page: number): boolean {
    return page < this.pages && (this.dirty[page >>> 5]! & (1 << (page & 31))) !== 0;
  }

  /** Pages written since the last clearDirty(), ascending. */
  dirtyPages(): Uint32Array {
    return this.collectPages((page) => (this.dirty[page >>> 5]! & (1 << (page & 31))) !== 0);
  }

  /**
   * Forgets all dirty bits. Dirty bits are set when a write mapping is handed
   * out, so the CPU must also drop its cached write translations (TLB flush)
   * for later writes to be seen again.
   */
  clearDirty(): void {
    this.dirty.fill(0);
  }

  /** Pages with content, ascending (what a snapshot must store): those with a frame and those still lazily backed. */
  presentPages(): Uint32Array {
    return this.collectPages((page) => {
      const frame = this.p2m[page]!;
      return frame > 0 || frame <= P2M_BACKED;
    });
  }

  /**
   * Backs RAM pages with snapshot data without copying it: page
   * `pageNumbers[i]` reads as `data[i * PAGE_SIZE ...]` and gets a frame on
   * its first CPU access (see the module comment). The pages must be
   * untouched RAM (no frame, not MMIO); `data` must not change afterwards.
   * Throws a plain Error otherwise, having changed nothing.
   */
  attachBacking(pageNumbers: Uint32Array, data: Uint8Array): void {
    if (this.backing) throw new Error('guest memory: a snapshot backing is already attached');
    if (data.length !== pageNumbers.length * PAGE_SIZE) {
      throw new Error(`guest memory: ${pageNumbers.length} backed pages need ${pageNumbers.length * PAGE_SIZE} bytes, got ${data.length}`);
    }
    for (let i = 0; i < pageNumbers.length; i++) {
      const page = pageNumbers[i]!;
      if (page >= this.pages) throw new Error(`guest memory: backed page ${page} lies beyond the ${this.pages} pages of RAM`);
      const frame = this.p2m[page]!;
      if (frame !== 0) throw new Error(`guest memory: page ${page} cannot be backed: it is ${frame === P2M_MMIO ? 'MMIO' : 'already present'}`);
    }
    if (pageNumbers.length === 0) return;
    for (let i = 0; i < pageNumbers.length; i++) this.p2m[pageNumbers[i]!] = P2M_BACKED - i;
    this.backing = data;
    this.backed = pageNumbers.length;
  }

  /** Pages still backed by snapshot data (not yet copied into a frame). */
  get lazyPages(): number {
    return this.backed;
  }

  /**
   * Copies every lazily backed page into a frame (before migrating the VM,
   * or to debug) and drops the backing data. Throws if frames run out (the
   * pages not reached stay backed, so nothing is lost).
   */
  materializeAll(): void {
    for (let page = 0; page < this.pages && this.backed > 0; page++) {
      if (this.p2m[page]! > P2M_BACKED) continue;
      if (this.materialize(page, false) < 0) {
        throw new Error(`guest memory: no frame left (${this.resident >= this.budget ? 'VM budget' : 'pool'}) to copy snapshot page ${page} into`);
      }
    }
  }

  /** Copies one page out (zeros if it has no frame). */
  readPage(page: number, dest: Uint8Array): void {
    this.readBytes(page * PAGE_SIZE, dest.subarray(0, PAGE_SIZE));
  }

  /**
   * Returns a page's frame to the pool (balloon inflate, or restoring a
   * snapshot over a running VM). The page reads as zeros afterwards. Bumps
   * `mappingGeneration`.
   */
  discardPage(page: number): void {
    if (page >= this.pages) return;
    const frame = this.p2m[page]!;
    if (frame <= P2M_BACKED) {
      this.dropBacking();
      this.p2m[page] = 0;
      return;
    }
    if (frame <= 0) return;
    this.p2m[page] = 0;
    this.pool.free(frame);
    this.resident--;
    this.mappingGen++;
  }

  /**
   * Frames for the VM's own machinery rather than guest RAM (the JIT's state
   * frame and TLB arrays): zero-filled, returned by `release()`, not counted
   * as resident guest pages. Returns their frame indices, or null (taking
   * nothing) when the pool cannot provide them.
   */
  allocateSystemFrames(count: number): number[] | null {
    const frames: number[] = [];
    for (let i = 0; i < count; i++) {
      const frame = this.pool.allocate();
      if (frame < 0) {
        for (const f of frames) this.pool.free(f);
        return null;
      }
      frames.push(frame);
    }
    this.systemFrames.push(...frames);
    return frames;
  }

  /** Like allocateSystemFrames, but the frames are consecutive in the pool (see FramePool.allocateRun). */
  allocateSystemRun(count: number): number[] | null {
    const first = this.pool.allocateRun(count);
    if (first < 0) return null;
    const frames = Array.from({ length: count }, (_, k) => first + k);
    this.systemFrames.push(...frames);
    return frames;
  }

  /** Returns every frame (including the scratch frame) to the pool; afterwards the whole space is open bus. */
  release(): void {
    if (this.released) return;
    this.released = true;
    for (const frame of this.systemFrames) this.pool.free(frame);
    this.systemFrames.length = 0;
    for (let page = 0; page < this.pages; page++) {
      const frame = this.p2m[page]!;
      if (frame > 0) this.pool.free(frame);
    }
    this.pool.free(this.discardFrame);
    this.discardFrame = 0;
    this.resident = 0;
    this.backing = undefined;
    this.backed = 0;
    this.p2m.fill(0);
    this.p2m = new Int32Array(0);
    this.pages = 0;
    this.mmio.length = 0;
    this.mappingGen++;
  }

  // ---- internals -----------------------------------------------------------

  private populate(page: number): number {
    if (this.resident >= this.budget) return this.outOfFrames('budget');
    const frame = this.pool.allocate();
    if (frame < 0) return this.outOfFrames('pool');
    this.p2m[page] = frame;
    this.resident++;
    this.dirty[page >>> 5]! |= 1 << (page & 31);
    return frame * PAGE_SIZE;
  }

  /**
   * First touch of a lazily backed page: a frame with the snapshot's bytes.
   * Without a frame, a read returns -1 (physRead reads through) and a write
   * takes the out-of-memory path; the page stays backed either way.
   */
  private materialize(page: number, forWrite: boolean): number {
    const frame = this.resident < this.budget ? this.pool.allocate() : -1;
    if (frame < 0) return forWrite ? this.outOfFrames(this.resident >= this.budget ? 'budget' : 'pool') : -1;
    const start = (P2M_BACKED - this.p2m[page]!) * PAGE_SIZE;
    this.pool.view.set(this.backing!.subarray(start, start + PAGE_SIZE), frame * PAGE_SIZE);
    this.dropBacking();
    this.p2m[page] = frame;
    this.resident++;
    if (forWrite) this.dirty[page >>> 5]! |= 1 << (page & 31);
    return frame * PAGE_SIZE;
  }

  /** Bookkeeping for a backed page that stops being backed (the caller rewrites its p2m entry). */
  private dropBacking(): void {
    if (--this.backed === 0) this.backing = undefined;
  }

  private readBacked(index: number, offset: number, size: AccessSize): number {
    const b = this.backing!;
    const at = index * PAGE_SIZE + offset;
    if (size === 1) return b[at]!;
    if (size === 2) return b[at]! | (b[at + 1]! << 8);
    return (b[at]! | (b[at + 1]! << 8) | (b[at + 2]! << 16) | (b[at + 3]! << 24)) >>> 0;
  }

  private outOfFrames(reason: OutOfMemoryReason): number {
    if (!this.oom) {
      this.oom = true;
      this.onOutOfMemory?.(reason);
    }
    return this.discardFrame * PAGE_SIZE;
  }

  private findMmio(address: number): MmioRegion | undefined {
    const regions = this.mmio;
    for (let i = 0; i < regions.length; i++) {
      const r = regions[i]!;
      if (address >= r.base && address < r.end) return r;
    }
    return undefined;
  }

  private readFrame(offset: number, size: AccessSize): number {
    const b = this.pool.view;
    if (size === 1) return b[offset]!;
    if (size === 2) return b[offset]! | (b[offset + 1]! << 8);
    return (b[offset]! | (b[offset + 1]! << 8) | (b[offset + 2]! << 16) | (b[offset + 3]! << 24)) >>> 0;
  }

  private writeFrame(offset: number, size: AccessSize, value: number): void {
    const b = this.pool.view;
    b[offset] = value;
    if (size === 1) return;
    b[offset + 1] = value >>> 8;
    if (size === 2) return;
    b[offset + 2] = value >>> 16;
    b[offset + 3] = value >>> 24;
  }

  private readSplit(address: number, size: AccessSize): number {
    let value = 0;
    for (let i = 0; i < size; i++) value |= this.physRead((address + i) >>> 0, 1) << (8 * i);
    return value >>> 0;
  }

  private collectPages(test: (page: number) => boolean): Uint32Array {
    let count = 0;
    for (let page = 0; page < this.pages; page++) if (test(page)) count++;
    const out = new Uint32Array(count);
    let i = 0;
    for (let page = 0; page < this.pages; page++) if (test(page)) out[i++] = page;
    return out;
  }
}

function openBus(size: AccessSize): number {
  return size === 1 ? 0xff : size === 2 ? 0xffff : 0xffffffff;
}

function hex(n: number): string {
  return '0x' + n.toString(16);
}
