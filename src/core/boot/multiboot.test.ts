import { describe, expect, it } from 'vitest';
import { FramePool } from '../memory/frame-pool.ts';
import { GuestMemory } from '../memory/guest-memory.ts';
import { findMultibootHeader, loadMultiboot, MULTIBOOT_BOOTLOADER_MAGIC } from './multiboot.ts';
import { syntheticMultibootElf, syntheticMultibootFlat } from './test-support/images.ts';

const MiB = 1024 * 1024;

function memory(ramBytes = 16 * MiB) {
  return new GuestMemory(new FramePool({ limitFrames: 8192 }), { ramBytes });
}

function u32(mem: GuestMemory, address: number): number {
  return mem.physRead(address, 4);
}

function cString(mem: GuestMemory, address: number): string {
  let s = '';
  for (let a = address; ; a++) {
    const c = mem.physRead(a, 1);
    if (c === 0) return s;
    s += String.fromCharCode(c);
  }
}

describe('multiboot loader', () => {
  it('loads ELF PT_LOAD segments at their physical addresses and zeroes the BSS', () => {
    const mem = memory();
    // Stale bytes where the BSS will be: the loader must zero them.
    mem.writeBytes(0x100050, new Uint8Array(16).fill(0xee));
    mem.writeBytes(0x101000, new Uint8Array(16).fill(0xee));
    const image = syntheticMultibootElf({ code: new Uint8Array([0x90, 0x90, 0xf4]) });
    const r = loadMultiboot({ memory: mem, ramBytes: 16 * MiB, image, cmdline: 'test=1 verbose' });
    expect(r.header.offset).toBe(0x1000);
    expect(r.entry.eip).toBe(0x100040);
    expect(mem.physRead(0x100000, 4)).toBe(0x1badb002);
    expect(mem.physRead(0x100040, 1)).toBe(0x90);
    expect(mem.physRead(0x100042, 1)).toBe(0xf4);
    expect(mem.physRead(0x100050, 4)).toBe(0); // BSS zeroed
    expect(mem.physRead(0x101000, 4)).toBe(0);
    expect(r.segments).toEqual([{ start: 0x100000, end: 0x100043 + 0x1000 }]);

    expect(r.entry.registers.eax).toBe(MULTIBOOT_BOOTLOADER_MAGIC);
    expect(r.entry.registers.ebx).toBe(r.infoAddress);
    expect(r.entry.cr0).toBe(1);
    expect(r.entry.eflags).toBe(2);
    expect(r.entry.segments.cs.flags).toBe(0xc9b);
    expect(r.entry.segments.cs.selector).toBe(0x08);
    expect(r.entry.segments.ss.selector).toBe(0x10);

    const info = r.infoAddress;
    const flags = u32(mem, info);
    expect(flags & 0x1).toBe(0x1); // mem_*
    expect(flags & 0x4).toBe(0x4); // cmdline
    expect(flags & 0x40).toBe(0x40); // mmap
    expect(u32(mem, info + 4)).toBe(639);
    expect(u32(mem, info + 8)).toBe(15 * 1024);
    expect(cString(mem, u32(mem, info + 16))).toBe('test=1 verbose');
    expect(cString(mem, u32(mem, info + 64))).toBe('tabvisor');
    const mmapLength = u32(mem, info + 44);
    const mmapAddr = u32(mem, info + 48);
    expect(mmapLength).toBe(4 * 24);
    expect(u32(mem, mmapAddr)).toBe(20);
    expect(u32(mem, mmapAddr + 3 * 24 + 4)).toBe(0x100000);
    expect(u32(mem, mmapAddr + 3 * 24 + 12)).toBe(15 * MiB);
    expect(u32(mem, mmapAddr + 3 * 24 + 20)).toBe(1);
  });

  it('uses the a.out kludge address fields when flags bit 16 is set', () => {
    const mem = memory();
    const r = loadMultiboot({ memory: mem, ramBytes: 16 * MiB, image: syntheticMultibootFlat(0x200000) });
    expect(r.entry.eip).toBe(0x200020);
    expect(mem.physRead(0x200020, 1)).toBe(0xf4);
    expect(r.segments).toEqual([{ start: 0x200000, end: 0x202000 }]);
  });

  it('loads modules page-aligned above the image', () => {
    const mem = memory();
    const image = syntheticMultibootElf();
    const r = loadMultiboot({ memory: mem, ramBytes: 16 * MiB, image, modules: [{ data: new Uint8Array([1, 2, 3]), string: 'initrd' }] });
    expect(r.modules[0]!.start % 4096).toBe(0);
    expect(r.modules[0]!.start).toBeGreaterThanOrEqual(r.segments[0]!.end);
    const info = r.infoAddress;
    expect(u32(mem, info) & 0x8).toBe(0x8);
    expect(u32(mem, info + 20)).toBe(1);
    const mod = u32(mem, info + 24);
    expect(u32(mem, mod)).toBe(r.modules[0]!.start);
    expect(u32(mem, mod + 4)).toBe(r.modules[0]!.start + 3);
    expect(cString(mem, u32(mem, mod + 8))).toBe('initrd');
  });

  it('rejects images without a header, with unknown requirements, or that do not fit', () => {
    expect(findMultibootHeader(new Uint8Array(9000))).toBeUndefined();
    expect(() => loadMultiboot({ memory: memory(), ramBytes: 16 * MiB, image: new Uint8Array(100) })).toThrow(/not a multiboot image/);
    expect(() => loadMultiboot({ memory: memory(), ramBytes: 16 * MiB, image: syntheticMultibootElf({ flags: 0x8 }) })).toThrow(/requires features/);
    expect(() => loadMultiboot({ memory: memory(), ramBytes: 16 * MiB, image: syntheticMultibootElf({ loadAddress: 0x8000 }) })).toThrow(/overlaps the boot information area/);
    expect(() => loadMultiboot({ memory: memory(2 * MiB), ramBytes: 2 * MiB, image: syntheticMultibootElf({ loadAddress: 0x1ff000, bssBytes: 0x10000 }) })).toThrow(/does not fit/);
  });
});
