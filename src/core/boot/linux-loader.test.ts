import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { FramePool } from '../memory/frame-pool.ts';
import { GuestMemory } from '../memory/guest-memory.ts';
import { bzImageWithPayload, lz4LiteralFrame, syntheticBzImage, syntheticVmlinux } from './test-support/images.ts';
import { parseElf32 } from './elf32.ts';
import { parseBzImage } from './bzimage.ts';
import { prepareKernel, unpackKernelSync } from './kernel-payload.ts';
import { BOOT_GDT_ADDRESS, BOOT_PARAMS_ADDRESS, CMDLINE_ADDRESS, SETUP_RNG_SEED, loadLinux } from './linux-loader.ts';

const MiB = 1024 * 1024;

function memory(ramBytes: number) {
  return new GuestMemory(new FramePool({ limitFrames: 65536 }), { ramBytes });
}

function read(mem: GuestMemory, address: number, length: number): DataView {
  const bytes = new Uint8Array(length);
  mem.readBytes(address, bytes);
  return new DataView(bytes.buffer);
}

describe('loadLinux', () => {
  const ram = 64 * MiB;
  const initrd = new Uint8Array(300_000).map((_, i) => (i * 13) & 0xff);

  it('fills boot_params and returns the 32-bit entry state', () => {
    const mem = memory(ram);
    const kernel = syntheticBzImage();
    const r = loadLinux({ memory: mem, ramBytes: ram, kernel, initrd, cmdline: 'console=ttyS0 quiet' });

    const bp = read(mem, BOOT_PARAMS_ADDRESS, 4096);
    expect(bp.getUint16(0x1fe, true)).toBe(0xaa55); // setup header copied
    expect(bp.getUint32(0x202, true)).toBe(0x53726448);
    expect(bp.getUint8(0x210)).toBe(0xff); // type_of_loader
    expect(bp.getUint8(0x211) & 0x81).toBe(0x81); // LOADED_HIGH | CAN_USE_HEAP
    expect(bp.getUint16(0x224, true)).toBe(0xfe00 - 0x200);
    expect(bp.getUint32(0x228, true)).toBe(CMDLINE_ADDRESS);
    expect(bp.getUint32(0x214, true)).toBe(0x100000);
    expect(bp.getUint32(0x21c, true)).toBe(initrd.length);
    const initrdAt = bp.getUint32(0x218, true);
    expect(initrdAt % 4096).toBe(0);
    expect(initrdAt + initrd.length).toBeLessThanOrEqual(ram);
    expect(initrdAt + initrd.length).toBeGreaterThan(ram - 4096); // as high as possible
    expect(initrdAt).toBeGreaterThanOrEqual(0x100000 + 0x400000); // above init_size
    expect(bp.getUint8(0x1ef)).toBe(0); // sentinel
    expect(bp.getUint16(0x002, true)).toBe(63 * 1024); // ext_mem_k
    expect(bp.getUint32(0x1e0, true)).toBe(63 * 1024); // alt_mem_k

    // E820
    expect(bp.getUint8(0x1e8)).toBe(4);
    const entry = (i: number) => ({
      address: bp.getUint32(0x2d0 + 20 * i, true),
      size: bp.getUint32(0x2d0 + 20 * i + 8, true),
      type: bp.getUint32(0x2d0 + 20 * i + 16, true),
    });
    expect(entry(0)).toEqual({ address: 0, size: 0x9fc00, type: 1 });
    expect(entry(1)).toEqual({ address: 0x9fc00, size: 0x400, type: 2 });
    expect(entry(2)).toEqual({ address: 0xf0000, size: 0x10000, type: 2 });
    expect(entry(3)).toEqual({ address: 0x100000, size: ram - 0x100000, type: 1 });

    // The kernel, the initrd and the command line are in place.
    const k = new Uint8Array(0x3000);
    mem.readBytes(0x100000, k);
    expect(k).toEqual(kernel.subarray(0xa00));
    const i = new Uint8Array(initrd.length);
    mem.readBytes(initrdAt, i);
    expect(i).toEqual(initrd);
    const cmd = new Uint8Array(20);
    mem.readBytes(CMDLINE_ADDRESS, cmd);
    expect(new TextDecoder().decode(cmd)).toBe('console=ttyS0 quiet\0');

    // GDT with flat __BOOT_CS / __BOOT_DS.
    const gdt = read(mem, r.entry.gdt.base, r.entry.gdt.limit + 1);
    expect(gdt.getUint32(0x10, true)).toBe(0x0000ffff);
    expect(gdt.getUint32(0x14, true)).toBe(0x00cf9b00);
    expect(gdt.getUint32(0x18, true)).toBe(0x0000ffff);
    expect(gdt.getUint32(0x1c, true)).toBe(0x00cf9300);

    expect(r.entry.eip).toBe(0x100000);
    expect(r.entry.registers.esi).toBe(BOOT_PARAMS_ADDRESS);
    expect(r.entry.registers.ebx).toBe(0);
    expect(r.entry.registers.ebp).toBe(0);
    expect(r.entry.registers.edi).toBe(0);
    expect(r.entry.eflags).toBe(0x2);
    expect(r.entry.cr0).toBe(0x1);
    expect(r.entry.segments.cs).toEqual({ selector: 0x10, base: 0, limit: 0xffffffff, flags: 0xc9b });
    expect(r.entry.segments.ds.selector).toBe(0x18);
    expect(r.entry.segments.ss.selector).toBe(0x18);
    expect(r.entry.segments.es.selector).toBe(0x18);
  });

  it('keeps the initrd below initrd_addr_max and the low-memory limit', () => {
    const kernel = syntheticBzImage();
    new DataView(kernel.buffer).setUint32(0x22c, 0x01ffffff, true); // initrd_addr_max = 32 MiB - 1
    const mem = memory(ram);
    const r = loadLinux({ memory: mem, ramBytes: ram, kernel, initrd, cmdline: '' });
    expect(r.initrdAddress + initrd.length).toBeLessThanOrEqual(0x2000000);
    expect(r.initrdAddress + initrd.length).toBeGreaterThan(0x2000000 - 4096);
  });

  it('reports RAM too small for kernel + init_size + initrd', () => {
    const kernel = syntheticBzImage({ initSize: 8 * MiB });
    expect(() => loadLinux({ memory: memory(8 * MiB), ramBytes: 8 * MiB, kernel, initrd, cmdline: '' })).toThrow(/^RAM too small: need 10 MiB/);
  });

  it('links an RNG seed from hdr.setup_data as a SETUP_RNG_SEED node clear of everything else', () => {
    const mem = memory(ram);
    const kernel = syntheticBzImage();
    const rngSeed = new Uint8Array(32).map((_, i) => 0xa0 + i);
    const cmdline = 'console=ttyS0';
    const r = loadLinux({ memory: mem, ramBytes: ram, kernel, initrd, cmdline, rngSeed });
    const bp = read(mem, BOOT_PARAMS_ADDRESS, 4096);
    const head = bp.getUint32(0x250, true);
    expect(bp.getUint32(0x254, true)).toBe(0); // u64: below 4 GiB
    expect(head).toBe(r.setupDataAddress);
    // Walk the chain as the kernel does: exactly one node, the seed.
    const node = read(mem, head, 16 + rngSeed.length);
    expect(node.getUint32(0, true)).toBe(0); // next (u64) = 0
    expect(node.getUint32(4, true)).toBe(0);
    expect(node.getUint32(8, true)).toBe(SETUP_RNG_SEED);
    expect(node.getUint32(12, true)).toBe(rngSeed.length);
    expect(new Uint8Array(node.buffer, 16)).toEqual(rngSeed);
    // In low memory the kernel reserves, overlapping none of GDT, boot_params, stack, command line, kernel, initrd.
    const end = head + 16 + rngSeed.length;
    const taken: Array<[number, number]> = [
      [BOOT_GDT_ADDRESS, BOOT_GDT_ADDRESS + 32],
      [BOOT_PARAMS_ADDRESS - 0x100, BOOT_PARAMS_ADDRESS + 4096], // and the initial stack below it
      [CMDLINE_ADDRESS, CMDLINE_ADDRESS + cmdline.length + 1],
      [r.kernelAddress, r.kernelEnd],
      [r.initrdAddress, r.initrdAddress + r.initrdSize],
    ];
    for (const [from, to] of taken) expect(end <= from || head >= to, `overlaps 0x${from.toString(16)}-0x${to.toString(16)}`).toBe(true);
    expect(end).toBeLessThanOrEqual(0x10000);
    expect(read(mem, CMDLINE_ADDRESS, cmdline.length).getUint8(0)).toBe(cmdline.charCodeAt(0)); // command line intact

    // Without a seed, or for a kernel older than protocol 2.09, no list.
    expect(loadLinux({ memory: memory(ram), ramBytes: ram, kernel, cmdline: '' }).setupDataAddress).toBe(0);
    const old = memory(ram);
    const r208 = loadLinux({ memory: old, ramBytes: ram, kernel: syntheticBzImage({ version: 0x0208 }), cmdline: '', rngSeed });
    expect(r208.setupDataAddress).toBe(0);
    expect(read(old, BOOT_PARAMS_ADDRESS + 0x250, 8).getBigUint64(0, true)).toBe(0n);
  });

  it('refuses an RNG seed too large for its slot', () => {
    expect(() => loadLinux({ memory: memory(ram), ramBytes: ram, kernel: syntheticBzImage(), cmdline: '', rngSeed: new Uint8Array(0x20000) })).toThrow(/RNG seed/);
  });

  it('refuses a command line longer than cmdline_size', () => {
    const kernel = syntheticBzImage({ cmdlineSize: 10 });
    expect(() => loadLinux({ memory: memory(ram), ramBytes: ram, kernel, cmdline: 'console=ttyS0' })).toThrow(/command line is 13 bytes; this kernel accepts at most 10/);
  });
});

describe('loadLinux with host decompression', () => {
  const ram = 64 * MiB;
  const realKernel = () => new Uint8Array(readFileSync(new URL('../../../public/images/bzImage', import.meta.url)));

  it('unpacks the default LZ4 kernel and enters its startup_32 at 1 MiB', () => {
    const mem = memory(ram);
    const kernel = realKernel();
    const r = loadLinux({ memory: mem, ramBytes: ram, kernel, cmdline: 'console=ttyS0' });
    expect(r.kernelBoot.path).toBe('host-decompressed');
    if (r.kernelBoot.path !== 'host-decompressed') return;
    expect(r.kernelBoot.format).toBe('lz4');
    expect(r.kernelBoot.segments[0]!.start).toBe(0x100000);
    // vmlinux links with ENTRY(phys_startup_32): e_entry is already physical, the start of the kernel.
    expect(r.entry.eip).toBe(0x100000);
    expect(r.entry.registers.esi).toBe(BOOT_PARAMS_ADDRESS);
    expect(r.entry.segments.cs.selector).toBe(0x10);
    // The decompressed kernel fits within init_size of its load address.
    expect(r.kernelEnd).toBe(0x100000 + r.image.initSize);
    for (const s of r.kernelBoot.segments) expect(s.end).toBeLessThanOrEqual(r.kernelEnd);
    // The first segment's bytes are in guest RAM (not the decompressor's).
    const out = unpackKernelSync(parseBzImage(kernel)).vmlinux!;
    const elf = parseElf32(out);
    const seg = elf.segments[0]!;
    const got = new Uint8Array(4096);
    mem.readBytes(seg.paddr, got);
    expect(got).toEqual(out.subarray(seg.offset, seg.offset + 4096));
    const bp = read(mem, BOOT_PARAMS_ADDRESS, 4096);
    expect(bp.getUint32(0x214, true)).toBe(0x100000); // code32_start unchanged
  });

  it('falls back to the guest decompressor when asked to', () => {
    const mem = memory(ram);
    const kernel = realKernel();
    const r = loadLinux({ memory: mem, ramBytes: ram, kernel, cmdline: '', hostDecompress: false });
    expect(r.kernelBoot).toEqual({ path: 'guest-decompressor', format: 'lz4', reason: 'host decompression disabled (hostDecompress: false)' });
    expect(r.entry.eip).toBe(0x100000);
    const got = new Uint8Array(512);
    mem.readBytes(0x100000, got);
    expect(got).toEqual(r.image.kernel.subarray(0, 512));
  });

  it('loads a synthetic vmlinux: segments at p_paddr, bss zeroed, initrd above the kernel', () => {
    const vmlinux = syntheticVmlinux({ segments: [{ paddr: 0x100000, bytes: 0x2000 }, { paddr: 0x500000, bytes: 0x800, bssBytes: 0x1800 }] });
    const kernel = bzImageWithPayload(lz4LiteralFrame(vmlinux), { initSize: 0x100000 });
    const mem = memory(ram);
    mem.writeBytes(0x500800, new Uint8Array(16).fill(0xee)); // the loader must zero the bss
    const initrd = new Uint8Array(ram - 0x502000 + 1); // would overlap the kernel's last segment if init_size were trusted alone
    expect(() => loadLinux({ memory: mem, ramBytes: ram, kernel, initrd, cmdline: '' })).toThrow(/^RAM too small/);
    const r = loadLinux({ memory: mem, ramBytes: ram, kernel, initrd: new Uint8Array(4096), cmdline: '' });
    expect(r.kernelBoot.path).toBe('host-decompressed');
    expect(r.kernelEnd).toBe(0x502000);
    expect(r.initrdAddress).toBeGreaterThanOrEqual(r.kernelEnd);
    const seg1 = new Uint8Array(0x2000);
    mem.readBytes(0x500000, seg1);
    expect(seg1.subarray(0, 0x800)).toEqual(vmlinux.subarray(0x3000, 0x3800));
    expect(seg1.subarray(0x800).every((b) => b === 0)).toBe(true);
    expect(r.entry.eip).toBe(0x100000);
  });

  it('translates a virtual e_entry through the segment that holds it', () => {
    const vmlinux = syntheticVmlinux({ entry: 0xc0100000 });
    const r = loadLinux({ memory: memory(ram), ramBytes: ram, kernel: bzImageWithPayload(lz4LiteralFrame(vmlinux)), cmdline: '' });
    expect(r.kernelBoot.path).toBe('host-decompressed');
    expect(r.entry.eip).toBe(0x100000);
  });

  it('falls back, saying why, for payloads it cannot use', () => {
    const load = (payload: Uint8Array) => loadLinux({ memory: memory(ram), ramBytes: ram, kernel: bzImageWithPayload(payload), cmdline: '' });
    const why = (payload: Uint8Array) => {
      const r = load(payload);
      expect(r.entry.eip).toBe(0x100000);
      return r.kernelBoot.path === 'guest-decompressor' ? `${r.kernelBoot.format}: ${r.kernelBoot.reason}` : 'host';
    };
    expect(why(new Uint8Array([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0, 0, 0]))).toBe('xz: the host does not unpack xz payloads');
    expect(why(new Uint8Array([0x02, 0x21, 0x4c, 0x18, 9, 0, 0, 0, 0x50, 0x41]))).toMatch(/^lz4: LZ4 block of 9 bytes/);
    expect(why(lz4LiteralFrame(new Uint8Array(100)))).toMatch(/^lz4: the payload is not a loadable vmlinux: not an ELF file/);
    expect(why(lz4LiteralFrame(syntheticVmlinux({ entry: 0x100010 })))).toMatch(/entry 0x100010 is not the start of the kernel/);
    expect(why(lz4LiteralFrame(syntheticVmlinux({ segments: [{ paddr: 0x90000, bytes: 0x1000 }] })))).toMatch(/outside RAM above 1 MiB/);
    expect(why(new Uint8Array([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]))).toMatch(/^gzip: .*prepareKernel/);
    // No payload fields before protocol 2.08.
    const old = loadLinux({ memory: memory(ram), ramBytes: ram, kernel: syntheticBzImage({ version: 0x0207 }), cmdline: '' });
    expect(old.kernelBoot).toMatchObject({ path: 'guest-decompressor', format: 'none' });
  });

  it('boots a gzip payload that prepareKernel() unpacked', async () => {
    const vmlinux = syntheticVmlinux();
    const gz = new Uint8Array(await new Response(new Blob([vmlinux as Uint8Array<ArrayBuffer>]).stream().pipeThrough(new CompressionStream('gzip'))).arrayBuffer());
    const kernel = bzImageWithPayload(gz);
    const prepared = await prepareKernel(kernel);
    expect(prepared.format).toBe('gzip');
    expect(prepared.vmlinux).toEqual(vmlinux);
    const r = loadLinux({ memory: memory(ram), ramBytes: ram, kernel, vmlinux: prepared.vmlinux, cmdline: '' });
    expect(r.kernelBoot).toMatchObject({ path: 'host-decompressed', format: 'gzip', vmlinuxBytes: vmlinux.length });
    expect(await prepareKernel(bzImageWithPayload(gz.subarray(0, 40)))).toMatchObject({ format: 'gzip', reason: expect.stringMatching(/^gzip payload/) as unknown });
    expect((await prepareKernel(realKernel())).vmlinux?.length).toBeGreaterThan(1_000_000);
  });
});
