/**
 * Multiboot (version 1, "Multiboot Specification 0.6.96") loader for
 * bare-metal test kernels: small ELF32 images (or flat binaries using the
 * a.out kludge) that expect a Multiboot-compliant boot loader.
 *
 * - The header (magic 0x1BADB002, flags, checksum with magic + flags +
 *   checksum = 0) must lie 32-bit aligned within the first 8 KiB.
 * - Flags bits 0-15 are requirements: bit 0 (page-align modules) and bit 1
 *   (memory information) are honoured, bit 2 (video mode) is accepted but no
 *   video information is supplied, other set bits are refused. With bit 16
 *   the header's address fields say where to load the file ("a.out kludge");
 *   otherwise the ELF program headers do (PT_LOAD segments at p_paddr, the
 *   part beyond p_filesz zeroed).
 * - The boot information structure gives mem_lower/mem_upper, the command
 *   line, modules, an E820-style memory map and the boot loader name.
 * - Machine state: EAX = 0x2BADB002, EBX = info address, 32-bit protected
 *   mode with flat 4 GiB segments, paging and interrupts off. The spec leaves
 *   ESP and the GDT undefined; we provide a valid GDT (CS 0x08, DS 0x10) and
 *   ESP at the top of the info area so a careless kernel still works.
 *
 * Info area layout (below 640 KiB, refused if the image overlaps it):
 *   0x8000 multiboot_info   0x8100 GDT   0x8200 memory map
 *   0x8400 module list      0x8800 strings (command lines, loader name) up to 0xA000
 * Modules are loaded page-aligned above the highest byte of the image.
 */
import { isElf, loadElf32Segments, parseElf32, type Elf32Executable } from './elf32.ts';
import { pcMemoryMap, ramTop, EBDA_START, HIGH_MEMORY_START } from './e820.ts';
import { flatDescriptor, flatProtectedModeState, type InitialCpuState } from './entry-state.ts';
import type { LoaderMemory } from './loader-memory.ts';

export const MULTIBOOT_HEADER_MAGIC = 0x1badb002;
export const MULTIBOOT_BOOTLOADER_MAGIC = 0x2badb002;
const SEARCH_LIMIT = 8192;

const INFO_ADDRESS = 0x8000;
const GDT_ADDRESS = 0x8100;
const MMAP_ADDRESS = 0x8200;
const MODS_ADDRESS = 0x8400;
const STRINGS_ADDRESS = 0x8800;
const INFO_AREA_END = 0xa000;
const MAX_MODULES = (STRINGS_ADDRESS - MODS_ADDRESS) / 16;

const FLAG_PAGE_ALIGN_MODULES = 1 << 0;
const FLAG_MEMORY_INFO = 1 << 1;
const FLAG_VIDEO_MODE = 1 << 2;
const FLAG_ADDRESS_FIELDS = 1 << 16;
const UNDERSTOOD_REQUIREMENTS = FLAG_PAGE_ALIGN_MODULES | FLAG_MEMORY_INFO | FLAG_VIDEO_MODE;

const INFO_MEMORY = 1 << 0;
const INFO_CMDLINE = 1 << 2;
const INFO_MODS = 1 << 3;
const INFO_MMAP = 1 << 6;
const INFO_LOADER_NAME = 1 << 9;

export interface MultibootHeader {
  /** File offset of the header. */
  offset: number;
  flags: number;
  /** Present when flags bit 16 is set. */
  addresses?: { headerAddr: number; loadAddr: number; loadEndAddr: number; bssEndAddr: number; entryAddr: number };
}

export interface MultibootModule {
  data: Uint8Array;
  /** The module's command line. */
  string?: string;
}

export interface MultibootOptions {
  memory: LoaderMemory;
  ramBytes: number;
  image: Uint8Array;
  cmdline?: string;
  modules?: MultibootModule[];
  mmioHoleStart?: number;
}

export interface MultibootResult {
  header: MultibootHeader;
  entry: InitialCpuState;
  infoAddress: number;
  /** Loaded ranges [start, end) of the image. */
  segments: Array<{ start: number; end: number }>;
  modules: Array<{ start: number; end: number }>;
}

/** Finds and checks the Multiboot header; undefined if there is none. */
export function findMultibootHeader(image: Uint8Array): MultibootHeader | undefined {
  const view = new DataView(image.buffer, image.byteOffset, image.byteLength);
  const limit = Math.min(SEARCH_LIMIT, image.length) - 12;
  for (let offset = 0; offset <= limit; offset += 4) {
    if (view.getUint32(offset, true) !== MULTIBOOT_HEADER_MAGIC) continue;
    const flags = view.getUint32(offset + 4, true);
    const checksum = view.getUint32(offset + 8, true);
    if (((MULTIBOOT_HEADER_MAGIC + flags + checksum) >>> 0) !== 0) continue;
    const header: MultibootHeader = { offset, flags };
    if (flags & FLAG_ADDRESS_FIELDS) {
      if (offset + 32 > image.length) throw new Error('multiboot: the header\'s address fields run past the end of the file');
      header.addresses = {
        headerAddr: view.getUint32(offset + 12, true),
        loadAddr: view.getUint32(offset + 16, true),
        loadEndAddr: view.getUint32(offset + 20, true),
        bssEndAddr: view.getUint32(offset + 24, true),
        entryAddr: view.getUint32(offset + 28, true),
      };
    }
    return header;
  }
  return undefined;
}

export function loadMultiboot(options: MultibootOptions): MultibootResult {
  const { image, memory } = options;
  const header = findMultibootHeader(image);
  if (!header) throw new Error('not a multiboot image: no valid header (magic 0x1BADB002 with a matching checksum) in the first 8 KiB');
  const unknown = header.flags & 0xffff & ~UNDERSTOOD_REQUIREMENTS;
  if (unknown) throw new Error(`multiboot: the image requires features this loader does not know (flags 0x${unknown.toString(16)})`);

  const top = ramTop(options.ramBytes, options.mmioHoleStart);
  const segments: Array<{ start: number; end: number }> = [];
  const place = (start: number, end: number) => {
    if (end < start || end > top || start < 0) {
      throw new Error(`multiboot: a segment at 0x${start.toString(16)}-0x${end.toString(16)} does not fit in ${Math.floor(top / 1024)} KiB of RAM`);
    }
    if (start < INFO_AREA_END && end > INFO_ADDRESS) {
      throw new Error(`multiboot: a segment at 0x${start.toString(16)}-0x${end.toString(16)} overlaps the boot information area 0x${INFO_ADDRESS.toString(16)}-0x${INFO_AREA_END.toString(16)}`);
    }
    if (start < HIGH_MEMORY_START && end > EBDA_START) {
      throw new Error(`multiboot: a segment at 0x${start.toString(16)}-0x${end.toString(16)} overlaps the reserved area below 1 MiB`);
    }
    segments.push({ start, end });
  };

  let entryPoint: number;
  if (header.addresses) {
    const a = header.addresses;
    const fileStart = header.offset - (a.headerAddr - a.loadAddr);
    if (fileStart < 0 || a.headerAddr < a.loadAddr) throw new Error('multiboot: header_addr/load_addr put the load start before the beginning of the file');
    const loadLength = a.loadEndAddr ? a.loadEndAddr - a.loadAddr : image.length - fileStart;
    if (loadLength < 0 || fileStart + loadLength > image.length) throw new Error('multiboot: load_end_addr runs past the end of the file');
    const end = Math.max(a.loadAddr + loadLength, a.bssEndAddr);
    place(a.loadAddr, end);
    memory.writeBytes(a.loadAddr, image.subarray(fileStart, fileStart + loadLength));
    if (end > a.loadAddr + loadLength) memory.zeroBytes(a.loadAddr + loadLength, end - a.loadAddr - loadLength);
    entryPoint = a.entryAddr;
  } else {
    entryPoint = loadElf32(image, memory, place);
  }

  // --- modules -------------------------------------------------------------------------
  const modules = options.modules ?? [];
  if (modules.length > MAX_MODULES) throw new Error(`multiboot: at most ${MAX_MODULES} modules`);
  const loadedModules: Array<{ start: number; end: number }> = [];
  let next = Math.ceil(Math.max(HIGH_MEMORY_START, ...segments.map((s) => s.end)) / 4096) * 4096;
  for (const m of modules) {
    const start = next;
    const end = start + m.data.length;
    if (end > top) throw new Error(`multiboot: RAM too small for module ${loadedModules.length} (needs ${Math.ceil(end / 1048576)} MiB)`);
    memory.writeBytes(start, m.data);
    loadedModules.push({ start, end });
    next = header.flags & FLAG_PAGE_ALIGN_MODULES ? Math.ceil(end / 4096) * 4096 : end;
  }

  // --- strings -------------------------------------------------------------------------
  let stringAt = STRINGS_ADDRESS;
  const putString = (text: string): number => {
    const bytes = new TextEncoder().encode(text);
    if (stringAt + bytes.length + 1 > INFO_AREA_END) throw new Error('multiboot: command lines too long for the boot information area');
    const at = stringAt;
    memory.writeBytes(at, bytes);
    memory.writeBytes(at + bytes.length, new Uint8Array(1));
    stringAt += bytes.length + 1;
    return at;
  };
  const cmdlineAt = putString(options.cmdline ?? '');
  const loaderNameAt = putString('tabvisor');

  // --- module list ---------------------------------------------------------------------
  if (modules.length) {
    const list = new Uint8Array(16 * modules.length);
    const lv = new DataView(list.buffer);
    modules.forEach((m, i) => {
      lv.setUint32(16 * i, loadedModules[i]!.start, true);
      lv.setUint32(16 * i + 4, loadedModules[i]!.end, true);
      lv.setUint32(16 * i + 8, putString(m.string ?? ''), true);
    });
    memory.writeBytes(MODS_ADDRESS, list);
  }

  // --- memory map ------------------------------------------------------------------------
  const map = pcMemoryMap(options.ramBytes, options.mmioHoleStart);
  const mmap = new Uint8Array(24 * map.length);
  const mv = new DataView(mmap.buffer);
  map.forEach((e, i) => {
    const at = 24 * i;
    mv.setUint32(at, 20, true); // size of the entry, not counting this field
    mv.setUint32(at + 4, e.address >>> 0, true);
    mv.setUint32(at + 8, Math.floor(e.address / 2 ** 32), true);
    mv.setUint32(at + 12, e.size >>> 0, true);
    mv.setUint32(at + 16, Math.floor(e.size / 2 ** 32), true);
    mv.setUint32(at + 20, e.type, true);
  });
  memory.writeBytes(MMAP_ADDRESS, mmap);

  // --- multiboot_info ----------------------------------------------------------------------
  const info = new Uint8Array(88);
  const iv = new DataView(info.buffer);
  let flags = INFO_MEMORY | INFO_CMDLINE | INFO_MMAP | INFO_LOADER_NAME;
  iv.setUint32(4, EBDA_START / 1024, true); // mem_lower, KiB
  iv.setUint32(8, Math.max(0, Math.floor((top - HIGH_MEMORY_START) / 1024)), true); // mem_upper, KiB above 1 MiB
  iv.setUint32(16, cmdlineAt, true);
  if (modules.length) {
    flags |= INFO_MODS;
    iv.setUint32(20, modules.length, true);
    iv.setUint32(24, MODS_ADDRESS, true);
  }
  iv.setUint32(44, mmap.length, true);
  iv.setUint32(48, MMAP_ADDRESS, true);
  iv.setUint32(64, loaderNameAt, true);
  iv.setUint32(0, flags, true);
  memory.writeBytes(INFO_ADDRESS, info);

  // --- GDT (null, code 0x08, data 0x10) ------------------------------------------------------
  const gdt = new Uint8Array(24);
  const gv = new DataView(gdt.buffer);
  const [cl, ch] = flatDescriptor(0x9b);
  const [dl, dh] = flatDescriptor(0x93);
  gv.setUint32(8, cl, true);
  gv.setUint32(12, ch, true);
  gv.setUint32(16, dl, true);
  gv.setUint32(20, dh, true);
  memory.writeBytes(GDT_ADDRESS, gdt);

  const entry = flatProtectedModeState({
    eip: entryPoint,
    codeSelector: 0x08,
    dataSelector: 0x10,
    gdt: { base: GDT_ADDRESS, limit: gdt.length - 1 },
    registers: { eax: MULTIBOOT_BOOTLOADER_MAGIC, ebx: INFO_ADDRESS, esp: INFO_ADDRESS },
  });
  return { header, entry, infoAddress: INFO_ADDRESS, segments, modules: loadedModules };
}

/** Loads the PT_LOAD segments of an ELF32 i386 executable; returns its entry point. */
function loadElf32(image: Uint8Array, memory: LoaderMemory, place: (start: number, end: number) => void): number {
  if (!isElf(image)) throw new Error('multiboot: the image is not ELF and its header has no address fields (flags bit 16)');
  let elf: Elf32Executable;
  try {
    elf = parseElf32(image);
  } catch (e) {
    throw new Error(`multiboot: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
  }
  for (const s of elf.segments) place(s.paddr, s.paddr + s.memsz);
  loadElf32Segments(image, elf, memory);
  return elf.entry;
}
