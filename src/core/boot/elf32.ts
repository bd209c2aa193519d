/**
 * ELF32 i386 executables (System V gABI + the i386 psABI): just what the
 * loaders need, the header and the PT_LOAD program headers. Used by the
 * Multiboot loader and by the Linux loader for a host-decompressed vmlinux.
 */
import type { LoaderMemory } from './loader-memory.ts';

export interface Elf32Segment {
  /** File offset of the segment's bytes. */
  offset: number;
  vaddr: number;
  paddr: number;
  filesz: number;
  memsz: number;
}

export interface Elf32Executable {
  /** e_entry as written (a virtual address for a linked kernel, unless it says otherwise). */
  entry: number;
  /** PT_LOAD segments with memsz > 0, in file order. */
  segments: Elf32Segment[];
}

const PT_LOAD = 1;
const ET_EXEC = 2;
const EM_386 = 3;

export function isElf(image: Uint8Array): boolean {
  return image.length >= 4 && image[0] === 0x7f && image[1] === 0x45 && image[2] === 0x4c && image[3] === 0x46;
}

/** Parses and checks an ELF32 little-endian i386 executable; throws an Error saying what is wrong. */
export function parseElf32(image: Uint8Array): Elf32Executable {
  if (image.length < 52 || !isElf(image)) throw new Error('not an ELF file');
  if (image[4] !== 1 || image[5] !== 1) throw new Error('only 32-bit little-endian ELF images can be loaded');
  const v = new DataView(image.buffer, image.byteOffset, image.byteLength);
  const type = v.getUint16(16, true);
  const machine = v.getUint16(18, true);
  if (type !== ET_EXEC) throw new Error(`ELF type ${type} is not an executable (ET_EXEC)`);
  if (machine !== EM_386) throw new Error(`ELF machine ${machine} is not i386`);
  const entry = v.getUint32(24, true);
  const phoff = v.getUint32(28, true);
  const phentsize = v.getUint16(42, true);
  const phnum = v.getUint16(44, true);
  if (phentsize < 32 || phoff + phnum * phentsize > image.length) throw new Error('the ELF program header table is truncated');
  const segments: Elf32Segment[] = [];
  for (let i = 0; i < phnum; i++) {
    const ph = phoff + i * phentsize;
    if (v.getUint32(ph, true) !== PT_LOAD) continue;
    const segment = {
      offset: v.getUint32(ph + 4, true),
      vaddr: v.getUint32(ph + 8, true),
      paddr: v.getUint32(ph + 12, true),
      filesz: v.getUint32(ph + 16, true),
      memsz: v.getUint32(ph + 20, true),
    };
    if (segment.memsz === 0) continue;
    if (segment.offset + segment.filesz > image.length) throw new Error(`ELF segment ${i} runs past the end of the file`);
    if (segment.filesz > segment.memsz) throw new Error(`ELF segment ${i} has more file bytes than memory bytes`);
    if (segment.paddr + segment.memsz > 2 ** 32) throw new Error(`ELF segment ${i} runs past 4 GiB`);
    segments.push(segment);
  }
  if (segments.length === 0) throw new Error('the ELF image has no loadable segment');
  return { entry, segments };
}

/** Copies each segment to its physical address (p_paddr) and zero-fills memsz beyond filesz. */
export function loadElf32Segments(image: Uint8Array, elf: Elf32Executable, memory: LoaderMemory): void {
  for (const s of elf.segments) {
    memory.writeBytes(s.paddr, image.subarray(s.offset, s.offset + s.filesz));
    if (s.memsz > s.filesz) memory.zeroBytes(s.paddr + s.filesz, s.memsz - s.filesz);
  }
}
