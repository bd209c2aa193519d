/**
 * Direct Linux boot through the 32-bit boot protocol
 * (Documentation/arch/x86/boot.rst, "32-bit Boot Protocol"): no BIOS and no
 * real-mode setup code run. The loader
 *   1. places the kernel, one of two ways (`LinuxBootResult.kernelBoot`):
 *      - host-decompressed (the default when the host can unpack the
 *        payload, see kernel-payload.ts): the vmlinux ELF's PT_LOAD segments
 *        at their physical addresses, entered at its startup_32 (the address
 *        the kernel's own decompressor would jump to), so the guest never
 *        runs the decompressor;
 *      - guest decompressor (fallback, or `hostDecompress: false`): the
 *        protected-mode code at code32_start (1 MiB), entered there,
 *   2. puts the initrd page-aligned as high as the kernel allows,
 *   3. builds struct boot_params (the "zero page", zero-page.rst): the setup
 *      header copied from the image and patched (loader type, load flags,
 *      heap end, command line, ramdisk), the E820 memory map and the legacy
 *      memory sizes,
 *   4. writes a GDT with flat __BOOT_CS (0x10) and __BOOT_DS (0x18),
 *   5. if given an RNG seed (and the kernel speaks protocol >= 2.09), links a
 *      struct setup_data of type SETUP_RNG_SEED from hdr.setup_data, so the
 *      kernel's RNG is ready at once instead of gathering jitter entropy
 *      (Linux 6.1 credits it when it trusts the bootloader:
 *      CONFIG_RANDOM_TRUST_BOOTLOADER / random.trust_bootloader=),
 * and returns the CPU state to start from: protected mode, paging off,
 * interrupts off, CS = 0x10, DS = ES = SS = 0x18, ESI = boot_params,
 * EBP = EDI = EBX = 0, EIP = code32_start or the vmlinux entry. boot_params
 * is the same either way.
 *
 * Low-memory layout (all below the 64 KiB the kernel reserves for itself):
 *   0x6000  GDT (4 descriptors)
 *   0x7000  boot_params (4 KiB); the initial ESP sits just below it
 *   0x8000  setup_data list (the RNG seed), if any
 *   0x20000 command line
 */
import { CAN_USE_HEAP, LOADED_HIGH, parseBzImage, type BzImage } from './bzimage.ts';
import { HIGH_MEMORY_START, pcMemoryMap, ramTop, type E820Entry } from './e820.ts';
import { flatDescriptor, flatProtectedModeState, type InitialCpuState } from './entry-state.ts';
import { parseElf32, loadElf32Segments, type Elf32Executable } from './elf32.ts';
import { kernelPayloadFormat, unpackKernelSync, type KernelPayloadFormat } from './kernel-payload.ts';
import type { LoaderMemory } from './loader-memory.ts';

export const BOOT_GDT_ADDRESS = 0x6000;
export const BOOT_PARAMS_ADDRESS = 0x7000;
export const SETUP_DATA_ADDRESS = 0x8000;
export const CMDLINE_ADDRESS = 0x20000;
/** struct setup_data type for a random seed (arch/x86/include/uapi/asm/bootparam.h). */
export const SETUP_RNG_SEED = 9;
export const BOOT_CS = 0x10;
export const BOOT_DS = 0x18;

/**
 * A 32-bit kernel without HIGHMEM maps only ~890 MiB of RAM directly; an
 * initrd above that would have to be copied down by the kernel, so keep it
 * below this address.
 */
export const INITRD_LOWMEM_LIMIT = 0x37000000;

const MIB = 1024 * 1024;
const PAGE = 4096;
const BOOT_PARAMS_SIZE = 4096;
const MAX_E820_ENTRIES = 128;
/** struct setup_data: u64 next, u32 type, u32 len, then len bytes. */
const SETUP_DATA_HEADER = 16;
const MAX_SETUP_DATA = CMDLINE_ADDRESS - SETUP_DATA_ADDRESS;

export interface LinuxBootOptions {
  memory: LoaderMemory;
  ramBytes: number;
  /** The bzImage file. */
  kernel: Uint8Array;
  initrd?: Uint8Array;
  cmdline: string;
  /** Start of the MMIO hole: RAM is reported only below it (default 4 GiB). */
  mmioHoleStart?: number;
  /** Unpack the kernel on the host and skip the guest decompressor when possible (default true). */
  hostDecompress?: boolean;
  /** The kernel's payload already unpacked (prepareKernel(), e.g. for gzip); otherwise LZ4 is unpacked here. */
  vmlinux?: Uint8Array;
  /** Seed for the kernel's RNG, passed as a SETUP_RNG_SEED setup_data entry (ignored below boot protocol 2.09). */
  rngSeed?: Uint8Array;
}

/** How the kernel was placed, and if the guest decompressor runs, why. */
export type KernelBootPath =
  | { path: 'host-decompressed'; format: KernelPayloadFormat; vmlinuxBytes: number; segments: Array<{ start: number; end: number }> }
  | { path: 'guest-decompressor'; format: KernelPayloadFormat; reason: string };

export interface LinuxBootResult {
  image: BzImage;
  entry: InitialCpuState;
  bootParamsAddress: number;
  cmdlineAddress: number;
  kernelAddress: number;
  /** End of the memory the kernel needs while it decompresses and starts (exclusive). */
  kernelEnd: number;
  initrdAddress: number;
  initrdSize: number;
  e820: E820Entry[];
  kernelBoot: KernelBootPath;
  /** Where the setup_data list starts (hdr.setup_data), or 0 if none was passed. */
  setupDataAddress: number;
}

const alignUp = (n: number, a: number) => Math.ceil(n / a) * a;
const alignDown = (n: number, a: number) => Math.floor(n / a) * a;
const mib = (bytes: number) => Math.ceil(bytes / MIB);

/** A vmlinux ready to load: parsed, checked, and its physical entry point. */
interface DirectKernel {
  vmlinux: Uint8Array;
  elf: Elf32Executable;
  format: KernelPayloadFormat;
  entry: number;
  end: number;
}

/**
 * Decides whether the host can place the decompressed kernel itself: the
 * payload must unpack to an i386 ELF whose segments lie in RAM above 1 MiB
 * and whose entry is where the kernel's decompressor would jump, the start
 * of the kernel at its load address (for i386, startup_32 at
 * LOAD_PHYSICAL_ADDR; e_entry is phys_startup_32, or a virtual address that
 * the segments' vaddr/paddr translate).
 */
function directKernel(image: BzImage, options: LinuxBootOptions, top: number): DirectKernel | { format: KernelPayloadFormat; reason: string } {
  const format = kernelPayloadFormat(image.payload);
  if (options.hostDecompress === false) return { format, reason: 'host decompression disabled (hostDecompress: false)' };
  const unpacked = options.vmlinux ? { vmlinux: options.vmlinux, format } : unpackKernelSync(image);
  if (!unpacked.vmlinux) return unpacked;
  let elf: Elf32Executable;
  try {
    elf = parseElf32(unpacked.vmlinux);
  } catch (e) {
    return { format: unpacked.format, reason: `the payload is not a loadable vmlinux: ${e instanceof Error ? e.message : String(e)}` };
  }
  const start = Math.min(...elf.segments.map((s) => s.paddr));
  const end = Math.max(...elf.segments.map((s) => s.paddr + s.memsz));
  if (start < HIGH_MEMORY_START || end > top) {
    return { format: unpacked.format, reason: `vmlinux segments span 0x${start.toString(16)}-0x${end.toString(16)}, outside RAM above 1 MiB` };
  }
  const e = elf.entry;
  const phys = elf.segments.find((s) => e >= s.paddr && e < s.paddr + s.memsz) ? e : elf.segments.filter((s) => e >= s.vaddr && e < s.vaddr + s.memsz).map((s) => s.paddr + (e - s.vaddr))[0];
  const loadAddress = image.relocatable ? Math.max(alignUp(image.code32Start || HIGH_MEMORY_START, image.kernelAlignment), image.prefAddress) : image.prefAddress;
  if (phys !== start || start !== loadAddress) {
    return { format: unpacked.format, reason: `vmlinux entry 0x${e.toString(16)} is not the start of the kernel at its load address 0x${loadAddress.toString(16)}` };
  }
  return { vmlinux: unpacked.vmlinux, elf, format, entry: phys, end };
}

export function loadLinux(options: LinuxBootOptions): LinuxBootResult {
  const image = parseBzImage(options.kernel);
  const top = ramTop(options.ramBytes, options.mmioHoleStart);
  const direct = directKernel(image, options, top);

  // --- command line -------------------------------------------------------------
  const cmdline = new TextEncoder().encode(options.cmdline);
  if (cmdline.length > image.cmdlineSize) {
    throw new Error(`command line is ${cmdline.length} bytes; this kernel accepts at most ${image.cmdlineSize}`);
  }
  const rngSeed = image.version >= 0x0209 ? options.rngSeed : undefined; // hdr.setup_data is protocol 2.09+
  if (rngSeed && SETUP_DATA_HEADER + rngSeed.length > MAX_SETUP_DATA) {
    throw new Error(`RNG seed is ${rngSeed.length} bytes; at most ${MAX_SETUP_DATA - SETUP_DATA_HEADER} fit below the command line`);
  }

  // --- kernel placement -----------------------------------------------------------
  const kernelAddress = image.code32Start || HIGH_MEMORY_START;
  // Where the decompressor will work (arch/x86/boot/compressed/head_32.S): the
  // load address rounded up to kernel_alignment if relocatable, but never
  // below the preferred (link-time) address; it needs init_size bytes there.
  const decompressBase = Math.max(image.relocatable ? alignUp(kernelAddress, image.kernelAlignment) : image.prefAddress, image.prefAddress);
  // The decompressed kernel lies within init_size of its load address too; its segments' end is checked anyway.
  const kernelEnd = alignUp(Math.max(kernelAddress + image.kernel.length, decompressBase + image.initSize, 'elf' in direct ? direct.end : 0), PAGE);

  // --- initrd placement -----------------------------------------------------------
  const initrdSize = options.initrd?.length ?? 0;
  const initrdSpan = alignUp(initrdSize, PAGE);
  const needed = kernelEnd + initrdSpan;
  if (needed > top) {
    const parts = `the kernel needs memory up to ${mib(kernelEnd)} MiB` + (initrdSize ? ` and the initrd ${mib(initrdSpan)} MiB more` : '');
    throw new Error(`RAM too small: need ${mib(needed)} MiB (${parts}), have ${Math.floor(top / MIB)} MiB`);
  }
  let initrdAddress = 0;
  if (initrdSize > 0) {
    const ceiling = Math.min(top, image.initrdAddrMax + 1, INITRD_LOWMEM_LIMIT);
    initrdAddress = alignDown(ceiling - initrdSize, PAGE);
    if (initrdAddress < kernelEnd) {
      throw new Error(`no room for the ${mib(initrdSize)} MiB initrd between the kernel (ends at ${mib(kernelEnd)} MiB) and the highest address it may occupy (${mib(ceiling)} MiB)`);
    }
  }

  // --- copy kernel, initrd, command line -------------------------------------------
  const mem = options.memory;
  let kernelBoot: KernelBootPath;
  if ('elf' in direct) {
    loadElf32Segments(direct.vmlinux, direct.elf, mem);
    kernelBoot = {
      path: 'host-decompressed',
      format: direct.format,
      vmlinuxBytes: direct.vmlinux.length,
      segments: direct.elf.segments.map((s) => ({ start: s.paddr, end: s.paddr + s.memsz })),
    };
  } else {
    mem.writeBytes(kernelAddress, image.kernel);
    kernelBoot = { path: 'guest-decompressor', format: direct.format, reason: direct.reason };
  }
  if (options.initrd && initrdSize > 0) mem.writeBytes(initrdAddress, options.initrd);
  const cmdlineBytes = new Uint8Array(cmdline.length + 1); // NUL-terminated
  cmdlineBytes.set(cmdline);
  mem.writeBytes(CMDLINE_ADDRESS, cmdlineBytes);
  let setupDataAddress = 0;
  if (rngSeed) {
    const node = new Uint8Array(SETUP_DATA_HEADER + rngSeed.length);
    const n = new DataView(node.buffer);
    // next = 0 (u64, already zero): the list has this one entry.
    n.setUint32(8, SETUP_RNG_SEED, true);
    n.setUint32(12, rngSeed.length, true);
    node.set(rngSeed, SETUP_DATA_HEADER);
    mem.writeBytes(SETUP_DATA_ADDRESS, node);
    setupDataAddress = SETUP_DATA_ADDRESS;
  }

  // --- boot_params -----------------------------------------------------------------
  const bp = new Uint8Array(BOOT_PARAMS_SIZE);
  const v = new DataView(bp.buffer);
  bp.set(image.setupHeader, 0x1f1);
  v.setUint8(0x210, 0xff); // type_of_loader: undefined loader
  v.setUint8(0x211, image.loadflags | LOADED_HIGH | CAN_USE_HEAP);
  // heap_end_ptr: end of the setup heap relative to the real-mode code, minus 0x200 (only the 16-bit setup code uses it).
  v.setUint16(0x224, 0xfe00 - 0x200, true);
  v.setUint32(0x214, kernelAddress, true); // code32_start
  v.setUint32(0x218, initrdAddress, true); // ramdisk_image
  v.setUint32(0x21c, initrdSize, true); // ramdisk_size
  v.setUint32(0x228, CMDLINE_ADDRESS, true); // cmd_line_ptr
  v.setUint32(0x23c, 0, true); // hardware_subarch: default x86 PC
  v.setUint32(0x250, setupDataAddress, true); // setup_data (u64; high half stays 0)
  v.setUint32(0x254, 0, true);

  const extKiB = Math.max(0, Math.floor((top - HIGH_MEMORY_START) / 1024));
  v.setUint16(0x002, Math.min(extKiB, 0xffff), true); // screen_info.ext_mem_k (INT 15h AH=88h)
  v.setUint32(0x1e0, extKiB, true); // alt_mem_k (INT 15h AX=E801h)

  const e820 = pcMemoryMap(options.ramBytes, options.mmioHoleStart);
  if (e820.length > MAX_E820_ENTRIES) throw new Error('too many E820 entries');
  v.setUint8(0x1e8, e820.length);
  e820.forEach((entry, i) => {
    const at = 0x2d0 + 20 * i;
    v.setUint32(at, entry.address >>> 0, true);
    v.setUint32(at + 4, Math.floor(entry.address / 2 ** 32), true);
    v.setUint32(at + 8, entry.size >>> 0, true);
    v.setUint32(at + 12, Math.floor(entry.size / 2 ** 32), true);
    v.setUint32(at + 16, entry.type, true);
  });
  mem.writeBytes(BOOT_PARAMS_ADDRESS, bp);

  // --- GDT ---------------------------------------------------------------------------
  const gdt = new Uint8Array(32);
  const g = new DataView(gdt.buffer);
  const [codeLow, codeHigh] = flatDescriptor(0x9b);
  const [dataLow, dataHigh] = flatDescriptor(0x93);
  g.setUint32(BOOT_CS, codeLow, true);
  g.setUint32(BOOT_CS + 4, codeHigh, true);
  g.setUint32(BOOT_DS, dataLow, true);
  g.setUint32(BOOT_DS + 4, dataHigh, true);
  mem.writeBytes(BOOT_GDT_ADDRESS, gdt);

  const entry = flatProtectedModeState({
    eip: 'elf' in direct ? direct.entry : kernelAddress,
    codeSelector: BOOT_CS,
    dataSelector: BOOT_DS,
    gdt: { base: BOOT_GDT_ADDRESS, limit: gdt.length - 1 },
    registers: { esi: BOOT_PARAMS_ADDRESS, esp: BOOT_PARAMS_ADDRESS },
  });

  return {
    image,
    entry,
    bootParamsAddress: BOOT_PARAMS_ADDRESS,
    cmdlineAddress: CMDLINE_ADDRESS,
    kernelAddress,
    kernelEnd,
    initrdAddress,
    initrdSize,
    e820,
    kernelBoot,
    setupDataAddress,
  };
}
