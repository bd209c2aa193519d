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
});
