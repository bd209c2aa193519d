import { describe, expect, it } from 'vitest';
import { FramePool } from './frame-pool.ts';
import { GuestMemory, PAGE_SIZE } from './guest-memory.ts';

describe('GuestMemory on a shared pool with a shared p2m map', () => {
  it('writes its p2m into the given storage, which another party can read; release zeroes it and frees every frame', () => {
    const pool = FramePool.createShared({ limitFrames: 256 });
    const map = new Int32Array(new SharedArrayBuffer(64 * 4));
    const a = new GuestMemory(FramePool.attachShared(pool.share()), { ramBytes: 64 * PAGE_SIZE, p2m: map });
    const b = new GuestMemory(FramePool.attachShared(pool.share()), { ramBytes: 64 * PAGE_SIZE });
    a.physWrite(3 * PAGE_SIZE, 4, 0x11223344);
    a.physWrite(9 * PAGE_SIZE, 1, 7);
    b.physWrite(3 * PAGE_SIZE, 4, 0x55667788);
    expect(a.map).toBe(a.map);
    expect(map[3]).toBeGreaterThan(0);
    expect(map[9]).toBeGreaterThan(0);
    expect(Array.from(map).filter((f) => f > 0).length).toBe(a.residentFrames);
    expect(b.map[3]).not.toBe(map[3]);
    // The coordinator's view of the same pool sees the guest's bytes where the map says.
    expect(new DataView(pool.memory.buffer).getUint32(map[3]! * PAGE_SIZE, true)).toBe(0x11223344);
    // Two VMs' frames + a scratch frame each.
    expect(pool.allocatedFrames).toBe(a.residentFrames + b.residentFrames + 2);
    a.release();
    expect(map.every((f) => f === 0)).toBe(true);
    expect(pool.allocatedFrames).toBe(b.residentFrames + 1);
    expect(b.physRead(3 * PAGE_SIZE, 4)).toBe(0x55667788);
  });

  it('refuses p2m storage that is too short or not zero', () => {
    const pool = new FramePool({ limitFrames: 64 });
    expect(() => new GuestMemory(pool, { ramBytes: 8 * PAGE_SIZE, p2m: new Int32Array(4) })).toThrow(/p2m storage/);
    const dirty = new Int32Array(8);
    dirty[2] = 5;
    expect(() => new GuestMemory(pool, { ramBytes: 8 * PAGE_SIZE, p2m: dirty })).toThrow(/p2m storage/);
  });
});
