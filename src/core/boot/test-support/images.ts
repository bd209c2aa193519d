/** Synthetic boot images for loader tests. */

/** A minimal synthetic bzImage: 4 setup sectors + `kernelBytes` of protected-mode code. */
export function syntheticBzImage(options: { version?: number; kernelBytes?: number; initSize?: number; cmdlineSize?: number; relocatable?: boolean } = {}): Uint8Array {
  const setupSects = 4;
  const kernelBytes = options.kernelBytes ?? 0x3000;
  const image = new Uint8Array((setupSects + 1) * 512 + kernelBytes);
  const v = new DataView(image.buffer);
  v.setUint8(0x1f1, setupSects);
  v.setUint32(0x1f4, kernelBytes / 16, true);
  v.setUint16(0x1fe, 0xaa55, true);
  v.setUint8(0x200, 0xeb);
  v.setUint8(0x201, 0x6a); // header ends at 0x26C
  v.setUint32(0x202, 0x53726448, true);
  v.setUint16(0x206, options.version ?? 0x020f, true);
  v.setUint16(0x20e, 0x300 - 0x200, true); // kernel_version string at 0x300
  image.set(new TextEncoder().encode('9.9.9-test'), 0x300);
  v.setUint8(0x211, 0x01);
  v.setUint32(0x214, 0x100000, true);
  v.setUint32(0x22c, 0x7fffffff, true);
  v.setUint32(0x230, 0x200000, true);
  v.setUint8(0x234, options.relocatable ? 1 : 0);
  v.setUint32(0x238, options.cmdlineSize ?? 2047, true);
  v.setUint32(0x258, 0x100000, true);
  v.setUint32(0x260, options.initSize ?? 0x400000, true);
  for (let i = 0; i < kernelBytes; i++) image[(setupSects + 1) * 512 + i] = (i * 7) & 0xff;
  return image;
}

const MB_MAGIC = 0x1badb002;

/**
 * A tiny ELF32 i386 executable with a Multiboot header: one PT_LOAD segment
 * of `code` at `loadAddress` (file offset 0x1000), `bssBytes` of zeroed
 * memory after it, entry at the segment start.
 */
export function syntheticMultibootElf(options: { loadAddress?: number; code?: Uint8Array; bssBytes?: number; flags?: number } = {}): Uint8Array {
  const load = options.loadAddress ?? 0x100000;
  const code = options.code ?? new Uint8Array([0xf4]); // hlt
  const bss = options.bssBytes ?? 0x1000;
  const flags = options.flags ?? 0x00000003;
  const segmentOffset = 0x1000;
  const segment = new Uint8Array(64 + code.length);
  const sv = new DataView(segment.buffer);
  // Multiboot header at the start of the segment (file offset 0x1000, within the first 8 KiB).
  sv.setUint32(0, MB_MAGIC, true);
  sv.setUint32(4, flags, true);
  sv.setUint32(8, (-(MB_MAGIC + flags)) >>> 0, true);
  segment.set(code, 64);
  const file = new Uint8Array(segmentOffset + segment.length);
  file.set(segment, segmentOffset);
  const v = new DataView(file.buffer);
  file.set([0x7f, 0x45, 0x4c, 0x46, 1, 1, 1], 0);
  v.setUint16(16, 2, true); // ET_EXEC
  v.setUint16(18, 3, true); // EM_386
  v.setUint32(20, 1, true);
  v.setUint32(24, load + 64, true); // e_entry: the code after the header
  v.setUint32(28, 52, true); // e_phoff
  v.setUint16(40, 52, true);
  v.setUint16(42, 32, true);
  v.setUint16(44, 2, true); // two program headers: a PT_NOTE to skip, then PT_LOAD
  v.setUint32(52, 4, true);
  const ph = 52 + 32;
  v.setUint32(ph, 1, true); // PT_LOAD
  v.setUint32(ph + 4, segmentOffset, true);
  v.setUint32(ph + 8, 0xc0000000 + load, true); // p_vaddr differs: the loader must use p_paddr
  v.setUint32(ph + 12, load, true);
  v.setUint32(ph + 16, segment.length, true);
  v.setUint32(ph + 20, segment.length + bss, true);
  v.setUint32(ph + 24, 5, true);
  return file;
}

/** A flat binary using the Multiboot a.out kludge (flags bit 16). */
export function syntheticMultibootFlat(loadAddress = 0x200000): Uint8Array {
  const flags = 0x00010002;
  const file = new Uint8Array(0x40);
  const v = new DataView(file.buffer);
  v.setUint32(0, MB_MAGIC, true);
  v.setUint32(4, flags, true);
  v.setUint32(8, (-(MB_MAGIC + flags)) >>> 0, true);
  v.setUint32(12, loadAddress, true); // header_addr
  v.setUint32(16, loadAddress, true); // load_addr
  v.setUint32(20, loadAddress + 0x40, true); // load_end_addr
  v.setUint32(24, loadAddress + 0x2000, true); // bss_end_addr
  v.setUint32(28, loadAddress + 0x20, true); // entry_addr
  file[0x20] = 0xf4;
  return file;
}

/** An LZ4 legacy frame holding `data` as one literals-only block, plus the kernel build's 4-byte size trailer. */
export function lz4LiteralFrame(data: Uint8Array, trailer = true): Uint8Array {
  const lengthBytes: number[] = [];
  if (data.length >= 15) {
    let rest = data.length - 15;
    while (rest >= 255) {
      lengthBytes.push(255);
      rest -= 255;
    }
    lengthBytes.push(rest);
  }
  const block = new Uint8Array([(Math.min(data.length, 15) << 4), ...lengthBytes, ...data]);
  const out = new Uint8Array(8 + block.length + (trailer ? 4 : 0));
  const v = new DataView(out.buffer);
  v.setUint32(0, 0x184c2102, true);
  v.setUint32(4, block.length, true);
  out.set(block, 8);
  if (trailer) v.setUint32(8 + block.length, data.length, true);
  return out;
}

/**
 * A vmlinux-like ELF32: PT_LOAD segments of patterned bytes at `paddr`
 * (vaddr = paddr + 0xC0000000), `bssBytes` of extra memsz on the last one,
 * and e_entry as given (default: the first segment's physical address).
 */
export function syntheticVmlinux(options: { segments?: Array<{ paddr: number; bytes: number; bssBytes?: number }>; entry?: number } = {}): Uint8Array {
  const segments = options.segments ?? [{ paddr: 0x100000, bytes: 0x2000 }, { paddr: 0x103000, bytes: 0x800, bssBytes: 0x1800 }];
  const phoff = 52;
  let offset = 0x1000;
  const placed = segments.map((s) => {
    const at = offset;
    offset += Math.ceil(s.bytes / 0x1000) * 0x1000;
    return { ...s, offset: at };
  });
  const file = new Uint8Array(offset);
  const v = new DataView(file.buffer);
  file.set([0x7f, 0x45, 0x4c, 0x46, 1, 1, 1], 0);
  v.setUint16(16, 2, true); // ET_EXEC
  v.setUint16(18, 3, true); // EM_386
  v.setUint32(20, 1, true);
  v.setUint32(24, options.entry ?? segments[0]!.paddr, true);
  v.setUint32(28, phoff, true);
  v.setUint16(40, 52, true);
  v.setUint16(42, 32, true);
  v.setUint16(44, placed.length, true);
  placed.forEach((s, i) => {
    const ph = phoff + 32 * i;
    v.setUint32(ph, 1, true);
    v.setUint32(ph + 4, s.offset, true);
    v.setUint32(ph + 8, 0xc0000000 + s.paddr, true);
    v.setUint32(ph + 12, s.paddr, true);
    v.setUint32(ph + 16, s.bytes, true);
    v.setUint32(ph + 20, s.bytes + (s.bssBytes ?? 0), true);
    for (let j = 0; j < s.bytes; j++) file[s.offset + j] = (j * 11 + i + 1) & 0xff;
  });
  return file;
}

/** A synthetic bzImage whose protected-mode code is a stub followed by `payload` (payload_offset/payload_length set). */
export function bzImageWithPayload(payload: Uint8Array, options: { initSize?: number } = {}): Uint8Array {
  const stub = 0x200;
  const kernelBytes = Math.ceil((stub + payload.length) / 16) * 16;
  const image = syntheticBzImage({ kernelBytes, initSize: options.initSize ?? 0x400000 });
  const kernelOffset = 5 * 512;
  image.fill(0x90, kernelOffset, kernelOffset + kernelBytes);
  image.set(payload, kernelOffset + stub);
  const v = new DataView(image.buffer);
  v.setUint32(0x248, stub, true);
  v.setUint32(0x24c, payload.length, true);
  return image;
}
