import { describe, expect, it, vi } from 'vitest';
import { FramePool } from './frame-pool.ts';
import { GuestMemory } from './guest-memory.ts';

const MiB = 1024 * 1024;

function setup(ramBytes = 4 * MiB, limitFrames = 4096, budgetFrames?: number) {
  const pool = new FramePool({ limitFrames });
  const onOutOfMemory = vi.fn();
  const mem = new GuestMemory(pool, { ramBytes, budgetFrames, onOutOfMemory });
  return { pool, mem, onOutOfMemory };
}

describe('GuestMemory', () => {
  it('reads untouched RAM as zero without allocating', () => {
    const { mem } = setup();
    expect(mem.frameForRead(5)).toBe(-1);
    expect(mem.physRead(0x5000, 4)).toBe(0);
    expect(mem.physRead(0x5ffe, 4)).toBe(0); // crosses into page 6
    expect(mem.residentFrames).toBe(0);
  });

  it('allocates on first write and counts resident frames', () => {
    const { mem, pool } = setup();
    const before = pool.allocatedFrames;
    const off = mem.frameForWrite(3);
    expect(off).toBeGreaterThan(0);
    expect(off % 4096).toBe(0);
    expect(mem.frameForRead(3)).toBe(off);
    expect(mem.frameForWrite(3)).toBe(off);
    expect(mem.residentFrames).toBe(1);
    expect(pool.allocatedFrames).toBe(before + 1);
    mem.physWrite(0x3010, 4, 0xdeadbeef);
    expect(mem.physRead(0x3010, 4)).toBe(0xdeadbeef);
    expect(mem.physRead(0x3011, 2)).toBe(0xadbe);
    expect(new Uint8Array(mem.buffer)[off + 0x10]).toBe(0xef);
  });

  it('splits accesses that cross a page boundary', () => {
    const { mem } = setup();
    mem.physWrite(0x1ffe, 4, 0x11223344);
    expect(mem.physRead(0x1ffe, 4)).toBe(0x11223344);
    expect(mem.physRead(0x2000, 1)).toBe(0x22);
    expect(mem.residentFrames).toBe(2);
  });

  it('treats addresses beyond RAM as open bus', () => {
    const { mem } = setup(1 * MiB);
    expect(mem.frameForRead(0x100)).toBe(-1);
    expect(mem.frameForWrite(0x100)).toBe(-1);
    expect(mem.physRead(0x100000, 1)).toBe(0xff);
    expect(mem.physRead(0x100000, 2)).toBe(0xffff);
    expect(mem.physRead(0xfffffffc, 4)).toBe(0xffffffff);
    mem.physWrite(0x100000, 4, 0x12345678); // dropped
    expect(mem.physRead(0x100000, 4)).toBe(0xffffffff);
    expect(mem.residentFrames).toBe(0);
  });

  it('dispatches MMIO regions, also inside RAM', () => {
    const { mem } = setup();
    const log: string[] = [];
    mem.addMmio(0xd0000000, 0x200, {
      read: (offset, size) => {
        log.push(`r${offset}/${size}`);
        return 0x1234;
      },
      write: (offset, size, value) => {
        log.push(`w${offset}/${size}=${value.toString(16)}`);
      },
    });
    expect(mem.physRead(0xd0000010, 2)).toBe(0x1234);
    mem.physWrite(0xd0000020, 4, 0xabc);
    expect(mem.physRead(0xd0000200, 1)).toBe(0xff); // past the region
    expect(log).toEqual(['r16/2', 'w32/4=abc']);

    mem.physWrite(0x9000, 1, 7);
    mem.addMmio(0x9000, 0x1000, { read: () => 0x55, write: () => {} });
    expect(mem.frameForRead(9)).toBe(-1);
    expect(mem.frameForWrite(9)).toBe(-1);
    expect(mem.physRead(0x9004, 1)).toBe(0x55);
    expect(() => mem.addMmio(0x9800, 0x100, { read: () => 0, write: () => {} })).toThrow(/overlaps/);
  });

  it('keeps a dirty bitmap of pages handed out for writing', () => {
    const { mem } = setup();
    mem.frameForWrite(1);
    mem.frameForWrite(40);
    mem.frameForRead(2);
    expect(Array.from(mem.dirtyPages())).toEqual([1, 40]);
    mem.clearDirty();
    expect(mem.dirtyPages().length).toBe(0);
    mem.frameForWrite(40);
    expect(mem.isDirty(40)).toBe(true);
    expect(mem.isDirty(1)).toBe(false);
  });

  it('gives loaders and DMA byte access through the same map', () => {
    const { mem } = setup();
    const data = new Uint8Array(10000).map((_, i) => i & 0xff);
    mem.writeBytes(0x1f00, data);
    const back = new Uint8Array(10000);
    mem.readBytes(0x1f00, back);
    expect(back).toEqual(data);
    expect(Array.from(mem.presentPages())).toEqual([1, 2, 3, 4]);
    const tail = new Uint8Array(8);
    mem.readBytes(4 * MiB - 4, tail); // 4 bytes of zero RAM, then open bus
    expect(Array.from(tail)).toEqual([0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff]);
    mem.zeroBytes(0x2000, 0x1000);
    expect(mem.physRead(0x2010, 1)).toBe(0);
    mem.zeroBytes(0x100000, 0x10000); // untouched: stays unallocated
    expect(mem.residentFrames).toBe(4);
  });

  it('on budget exhaustion calls onOutOfMemory once and writes go to a scratch frame', () => {
    const { mem, onOutOfMemory } = setup(4 * MiB, 4096, 2);
    const a = mem.frameForWrite(0);
    const b = mem.frameForWrite(1);
    const c = mem.frameForWrite(2);
    const d = mem.frameForWrite(3);
    expect(a).toBeGreaterThan(0);
    expect(b).toBeGreaterThan(0);
    expect(c).toBeGreaterThan(0);
    expect(d).toBe(c); // the same scratch frame
    expect(onOutOfMemory).toHaveBeenCalledTimes(1);
    expect(onOutOfMemory).toHaveBeenCalledWith('budget');
    expect(mem.outOfMemory).toBe(true);
    expect(mem.residentFrames).toBe(2);
    expect(mem.frameForRead(2)).toBe(-1); // the page itself stays unmapped
    const gen = mem.mappingGeneration;
    mem.budgetFrames = 10;
    mem.clearOutOfMemory();
    expect(mem.mappingGeneration).toBeGreaterThan(gen);
    const e = mem.frameForWrite(2);
    expect(e).not.toBe(c);
    expect(mem.residentFrames).toBe(3);
  });

  it('on pool exhaustion never throws', () => {
    const pool = new FramePool({ limitFrames: 4 }); // frame 0 + 3
    const onOutOfMemory = vi.fn();
    const mem = new GuestMemory(pool, { ramBytes: 1 * MiB, onOutOfMemory }); // takes the scratch frame
    expect(mem.frameForWrite(0)).toBeGreaterThan(0);
    expect(mem.frameForWrite(1)).toBeGreaterThan(0);
    expect(() => mem.frameForWrite(2)).not.toThrow();
    expect(onOutOfMemory).toHaveBeenCalledWith('pool');
  });

  it('isolates VMs: released frames reach the next VM zeroed', () => {
    const pool = new FramePool({ limitFrames: 64 });
    const vm1 = new GuestMemory(pool, { ramBytes: 1 * MiB });
    vm1.writeBytes(0, new Uint8Array(4096).fill(0x5a));
    vm1.release();
    expect(pool.allocatedFrames).toBe(0);
    expect(vm1.frameForWrite(0)).toBe(-1);
    const vm2 = new GuestMemory(pool, { ramBytes: 1 * MiB });
    const off = vm2.frameForWrite(0);
    expect(new Uint8Array(vm2.buffer).subarray(off, off + 4096).every((b) => b === 0)).toBe(true);
    // Discarding a page returns its frame and it reads as zero again.
    vm2.physWrite(0, 1, 9);
    vm2.discardPage(0);
    expect(vm2.physRead(0, 1)).toBe(0);
    expect(vm2.residentFrames).toBe(0);
  });

  describe('lazy snapshot backing', () => {
    /** Three backed pages (2, 7, 9) whose bytes are (page * 16 + offset) & 0xff. */
    function backed(budgetFrames?: number, limitFrames = 4096) {
      const env = setup(4 * MiB, limitFrames, budgetFrames);
      const pages = Uint32Array.of(2, 7, 9);
      const data = new Uint8Array(pages.length * 4096);
      pages.forEach((page, i) => data.subarray(i * 4096, (i + 1) * 4096).forEach((_, o, a) => (a[o] = (page * 16 + o) & 0xff)));
      env.mem.attachBacking(pages, data);
      return { ...env, pages, data };
    }

    it('costs no frame until a page is touched, and counts backed pages as present', () => {
      const { mem, pool } = backed();
      expect(mem.residentFrames).toBe(0);
      expect(pool.allocatedFrames).toBe(1); // the scratch frame
      expect(mem.lazyPages).toBe(3);
      expect(Array.from(mem.presentPages())).toEqual([2, 7, 9]);
      expect(mem.frameForRead(3)).toBe(-1); // an unbacked untouched page is unchanged
    });

    it('reads through without allocating (physRead, readBytes, readPage)', () => {
      const { mem } = backed();
      expect(mem.physRead(0x7010, 1)).toBe((7 * 16 + 0x10) & 0xff);
      expect(mem.physRead(0x7ffe, 4)).toBe(((7 * 16 + 0xffe) & 0xff) | (((7 * 16 + 0xfff) & 0xff) << 8)); // then page 8: zeros
      const bytes = new Uint8Array(4096 + 8);
      mem.readBytes(0x9000 - 4, bytes);
      expect(Array.from(bytes.subarray(0, 8))).toEqual([0, 0, 0, 0, 144, 145, 146, 147]);
      const page = new Uint8Array(4096);
      mem.readPage(2, page);
      expect(page[5]).toBe(2 * 16 + 5);
      expect(mem.residentFrames).toBe(0);
    });

    it('materialises on the first frameForRead without marking the page dirty', () => {
      const { mem } = backed();
      const off = mem.frameForRead(7);
      expect(off).toBeGreaterThan(0);
      expect(new Uint8Array(mem.buffer)[off + 0x20]).toBe((7 * 16 + 0x20) & 0xff);
      expect(mem.frameForRead(7)).toBe(off);
      expect(mem.residentFrames).toBe(1);
      expect(mem.lazyPages).toBe(2);
      expect(mem.isDirty(7)).toBe(false);
      expect(mem.frameForWrite(7)).toBe(off);
      expect(mem.isDirty(7)).toBe(true);
    });

    it('materialises on the first write and keeps the other bytes', () => {
      const { mem } = backed();
      mem.physWrite(0x9004, 1, 0xee);
      expect(mem.isDirty(9)).toBe(true);
      expect(mem.residentFrames).toBe(1);
      expect(mem.physRead(0x9003, 2)).toBe(((9 * 16 + 3) & 0xff) | (0xee << 8));
      mem.writeBytes(0x2ffe, Uint8Array.of(1, 2, 3, 4)); // page 2 (backed) then page 3 (untouched)
      expect(mem.physRead(0x2ffc, 4)).toBe((((2 * 16 + 0xffc) & 0xff) | (((2 * 16 + 0xffd) & 0xff) << 8) | (1 << 16) | (2 << 24)) >>> 0);
      expect(mem.residentFrames).toBe(3);
      expect(mem.lazyPages).toBe(1);
    });

    it('discard, zeroing and release drop the backing', () => {
      const { mem, pool } = backed();
      mem.discardPage(2);
      expect(mem.physRead(0x2000, 4)).toBe(0);
      mem.zeroBytes(0x7000, 4096); // a whole page: back to untouched, no frame
      expect(mem.physRead(0x7010, 1)).toBe(0);
      expect(mem.residentFrames).toBe(0);
      mem.zeroBytes(0x9000, 16); // part of a page: the rest must survive
      expect(mem.physRead(0x900f, 1)).toBe(0);
      expect(mem.physRead(0x9010, 1)).toBe((9 * 16 + 0x10) & 0xff);
      expect(mem.lazyPages).toBe(0);
      expect(Array.from(mem.presentPages())).toEqual([9]);
      mem.release();
      expect(pool.allocatedFrames).toBe(0);
    });

    it('materializeAll copies everything in; out of frames it throws and loses nothing', () => {
      const { mem } = backed();
      mem.materializeAll();
      expect(mem.lazyPages).toBe(0);
      expect(mem.residentFrames).toBe(3);
      expect(mem.dirtyPages().length).toBe(0);
      expect(mem.physRead(0x9010, 1)).toBe((9 * 16 + 0x10) & 0xff);

      const small = backed(2);
      expect(() => small.mem.materializeAll()).toThrow(/no frame left \(VM budget\) to copy snapshot page 9/);
      expect(small.mem.lazyPages).toBe(1);
      expect(small.mem.physRead(0x9010, 1)).toBe((9 * 16 + 0x10) & 0xff);
    });

    it('without a frame, reads read through and writes take the out-of-memory path', () => {
      const { mem, onOutOfMemory } = backed(1);
      expect(mem.frameForRead(2)).toBeGreaterThan(0);
      expect(mem.frameForRead(7)).toBe(-1); // budget used up: the CPU reads through physRead
      expect(mem.physRead(0x7010, 1)).toBe((7 * 16 + 0x10) & 0xff);
      expect(onOutOfMemory).not.toHaveBeenCalled();
      mem.physWrite(0x7010, 1, 0);
      expect(onOutOfMemory).toHaveBeenCalledWith('budget');
      expect(mem.physRead(0x7010, 1)).toBe((7 * 16 + 0x10) & 0xff); // the page kept its backing
      expect(mem.lazyPages).toBe(2);
    });

    it('refuses pages that are present, MMIO or beyond RAM, changing nothing', () => {
      const { mem } = setup();
      mem.frameForWrite(3);
      mem.addMmio(0x5000, 0x1000, { read: () => 0, write: () => {} });
      const page = new Uint8Array(4096);
      expect(() => mem.attachBacking(Uint32Array.of(1, 3), new Uint8Array(8192))).toThrow(/page 3 cannot be backed: it is already present/);
      expect(() => mem.attachBacking(Uint32Array.of(5), page)).toThrow(/page 5 cannot be backed: it is MMIO/);
      expect(() => mem.attachBacking(Uint32Array.of(5000), page)).toThrow(/beyond the 1024 pages of RAM/);
      expect(() => mem.attachBacking(Uint32Array.of(1), new Uint8Array(10))).toThrow(/need 4096 bytes/);
      expect(mem.lazyPages).toBe(0);
      expect(Array.from(mem.presentPages())).toEqual([3]);
    });
  });
});
