/**
 * Direct Linux boot through the 32-bit boot protocol
 * (Documentation/arch/x86/boot.rst, "32-bit Boot Protocol"): no BIOS and no
 * real-mode setup code run. The loader
 *   1. puts the protected-mode kernel at code32_start (1 MiB),
 *   2. puts the initrd page-aligned as high as the kernel allows,
 *   3. builds struct boot_params (the "zero page", zero-page.rst): the setup
 *      header copied from the image and patched (loader type, load flags,
 *      heap end, command line, ramdisk), the E820 memory map and the legacy
 *      memory sizes,
 *   4. writes a GDT with flat __BOOT_CS (0x10) and __BOOT_DS (0x18),
 * and returns the CPU state to start from: protected mode, paging off,
 * interrupts off, CS = 0x10, DS = ES = SS = 0x18, ESI = boot_params,
 * EBP = EDI = EBX = 0, EIP = code32_start.
 *
 * Low-memory layout (all below the 64 KiB the kernel reserves for itself):
 *   0x6000  GDT (4 descriptors)
 *   0x7000  boot_params (4 KiB); the initial ESP sits just below it
 *   0x20000 command line
 */
import { CAN_USE_HEAP, LOADED_HIGH, parseBzImage, type BzImage } from './bzimage.ts';
import { HIGH_MEMORY_START, pcMemoryMap, ramTop, type E820Entry } from './e820.ts';
import { flatDescriptor, flatProtectedModeState, type InitialCpuState } from './entry-state.ts';
import type { LoaderMemory } from './loader-memory.ts';

export const BOOT_GDT_ADDRESS = 0x6000;
export const BOOT_PARAMS_ADDRESS = 0x7000;
export const CMDLINE_ADDRESS = 0x20000;
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

export interface LinuxBootOptions {
  memory: LoaderMemory;
  ramBytes: number;
  /** The bzImage file. */
  kernel: Uint8Array;
  initrd?: Uint8Array;
  cmdline: string;
  /** Start of the MMIO hole: RAM is reported only below it (default 4 GiB). */
  mmioHoleStart?: number;
}

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
}

const alignUp = (n: number, a: number) => Math.ceil(n / a) * a;
const alignDown = (n: number, a: number) => Math.floor(n / a) * a;
const mib = (bytes: number) => Math.ceil(bytes / MIB);

export function loadLinux(options: LinuxBootOptions): LinuxBootResult {
  const image = parseBzImage(options.kernel);
  const top = ramTop(options.ramBytes, options.mmioHoleStart);

  // --- command line -------------------------------------------------------------
  const cmdline = new TextEncoder().encode(options.cmdline);
  if (cmdline.length > image.cmdlineSize) {
    throw new Error(`command line is ${cmdline.length} bytes; this kernel accepts at most ${image.cmdlineSize}`);
  }

  // --- kernel placement -----------------------------------------------------------
  const kernelAddress = image.code32Start || HIGH_MEMORY_START;
  // Where the decompressor will work (arch/x86/boot/compressed/head_32.S): the
  // load address rounded up to kernel_alignment if relocatable, but never
  // below the preferred (link-time) address; it needs init_size bytes there.
  const decompressBase = Math.max(image.relocatable ? alignUp(kernelAddress, image.kernelAlignment) : image.prefAddress, image.prefAddress);
  const kernelEnd = alignUp(Math.max(kernelAddress + image.kernel.length, decompressBase + image.initSize), PAGE);

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
  mem.writeBytes(kernelAddress, image.kernel);
  if (options.initrd && initrdSize > 0) mem.writeBytes(initrdAddress, options.initrd);
  const cmdlineBytes = new Uint8Array(cmdline.length + 1); // NUL-terminated
  cmdlineBytes.set(cmdline);
  mem.writeBytes(CMDLINE_ADDRESS, cmdlineBytes);

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
    eip: kernelAddress,
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
  };
}
